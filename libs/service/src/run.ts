import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { ConfigError, readConfig } from '@platform/config'
import { tuneGarbageCollector } from '@platform/http-kit'
import { createPool, migrateAll, type MigrationSet } from '@platform/postgres'
import { shutdownTelemetry } from '@platform/telemetry'
import { databaseConfig, type BaseConfig } from './config.ts'
import { migrationSets } from './create-service.ts'
import type { Manifest } from './manifest.ts'

function describe(err: unknown): string {
  if (err instanceof ConfigError) return err.message
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; errors?: unknown[] }
  if (e.code && e.address) return `cannot reach ${e.address}:${e.port} (${e.code})`
  if (Array.isArray(e.errors) && e.errors.length > 0) return describe(e.errors[0]) // AggregateError of a dual-stack connect
  return e.message ?? String(err)
}

/**
 * Runs `step`; on failure prints `what: <reason>` on one line and exits with code 1 — an entry
 * point fails at start saying what is wrong, not with a stack trace from ten calls down.
 */
export async function orExit<T>(what: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    process.stderr.write(`${what}: ${describe(err)}\n`)
    process.exit(1)
  }
}

export interface RunOptions<C extends BaseConfig> {
  manifest: Manifest
  readConfig: (env: Record<string, string | undefined>) => C
  buildApp: (config: C) => Promise<FastifyInstance>
}

/**
 * A service's process: GC settings, config (one line naming every problem, exit 1), the app,
 * listening, and on SIGTERM/SIGINT a graceful close (not ready → deregister → drain → stop
 * consumers → flush → close pools → flush spans) bounded by SHUTDOWN_GRACE_MS.
 */
export async function runService<C extends BaseConfig>(options: RunOptions<C>): Promise<FastifyInstance> {
  const { name } = options.manifest
  tuneGarbageCollector()
  const config = await orExit(`${name}: configuration`, () => options.readConfig(process.env))
  const app = await orExit(`${name} could not start`, () => options.buildApp(config))
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    await app.close()
    await shutdownTelemetry()
  })
  await orExit(`${name} could not listen`, () => app.listen({ host: config.HOST, port: config.PORT }))
  return app
}

/** `npm run migrate`: applies the service's migrations to DATABASE_URL, prints what it did. */
export async function runMigrate(
  manifest: Manifest,
  sets: MigrationSet[] = migrationSets(manifest)
): Promise<void> {
  const config = await orExit(`${manifest.name}: configuration`, () =>
    readConfig(Type.Object({ DATABASE_URL: databaseConfig.DATABASE_URL }), process.env)
  )
  const pool = createPool({ connectionString: config.DATABASE_URL, name: `${manifest.name}-migrate` })
  await orExit(`${manifest.name} migrate`, async () => {
    try {
      for (const { table, applied, current } of await migrateAll(pool, sets, (m) => console.log(m)))
        console.log(`${table}: ${applied.length} applied, at ${current ?? 'none'}`)
    } finally {
      await pool.end()
    }
  })
}
