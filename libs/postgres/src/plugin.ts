import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import '@platform/http-kit'
import { poolMetrics, type Metrics } from '@platform/metrics'
import { checkPostgres, createPool, type PoolOptions } from './pool.ts'
import { migrateAll, type MigrationSet } from './migrate.ts'

export interface PostgresPluginOptions extends PoolOptions {
  metrics: Metrics
  /** Migration sets applied in order before the app is ready, each with its own history table
   *  (e.g. the service's own, then @platform/messaging's). */
  migrations?: MigrationSet[]
  readinessTimeoutMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    pg: pg.Pool
  }
}

async function plugin(app: FastifyInstance, options: PostgresPluginOptions): Promise<void> {
  const name = options.name ?? 'postgres'
  const pool = createPool({
    ...options,
    onIdleError: (err) => app.log.warn({ err, pool: name }, 'idle postgres client failed')
  })
  const untrack = poolMetrics(options.metrics.registry).track(name, () => ({
    total: pool.totalCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount
  }))
  app.decorate('pg', pool)
  app.lifecycle.onShutdown('closePools', async () => {
    untrack()
    await pool.end()
  })
  app.readiness.register(name, (signal) => checkPostgres(pool, signal), {
    timeoutMs: options.readinessTimeoutMs ?? 1000
  })
  try {
    await migrateAll(pool, options.migrations ?? [], (message) => app.log.info({ pool: name }, message))
  } catch (err) {
    untrack()
    await pool.end() // the app never starts, so its shutdown phases never run
    throw err
  }
}

/** Registers after the http-kit: decorates `app.pg`, checks readiness, closes the pool last. */
export const postgres = fp(plugin, { name: '@platform/postgres', dependencies: ['@platform/http-kit'] })
