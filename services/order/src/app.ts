import { fileURLToPath } from 'node:url'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { createConsul, createResolver, discovery } from '@platform/discovery'
import { httpKit, serverOptions } from '@platform/http-kit'
import { loggerOptions } from '@platform/logging'
import { messaging, messagingMigrationsDir } from '@platform/messaging'
import { createMetrics } from '@platform/metrics'
import { postgres } from '@platform/postgres'
import { createUpstream } from '@platform/resilience'
import type { Config } from './config.ts'
import { catalogClient } from './adapters/catalog-client.ts'
import { CONSUMER, expirePending, stockEventsBatchHandler, stockEventsHandler } from './consumers/saga.ts'
import { orderRoutes } from './routes/orders.ts'
import { pruneIdempotencyKeys } from './adapters/orders-repository.ts'

export const SERVICE = 'order'
export const VERSION = '0.1.0'
export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))
/** What `npm run migrate` and MIGRATE_AT_START apply: the service's own tables, then the outbox and inbox. */
export const migrationSets = [
  { dir: migrationsDir },
  { dir: messagingMigrationsDir, table: 'messaging_migrations' }
]

export interface AppOptions {
  /** Consume stock events, relay the outbox and expire stale orders (off for route-only tests). */
  messaging?: boolean
}

/** The order service's whole wiring. Never listens: server.ts does. */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const metrics = createMetrics({ service: SERVICE })
  const app = Fastify(
    serverOptions({
      logger: loggerOptions({
        service: SERVICE,
        version: VERSION,
        level: config.LOG_LEVEL,
        pretty: config.LOG_PRETTY
      }),
      bodyLimit: config.BODY_LIMIT_BYTES
    })
  ).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(httpKit, { metrics, drainDelayMs: config.SHUTDOWN_DRAIN_MS })
  await app.register(postgres, {
    connectionString: config.DATABASE_URL,
    name: SERVICE,
    max: config.DATABASE_POOL_MAX,
    metrics,
    migrations: config.MIGRATE_AT_START ? migrationSets : []
  })

  // The catalog is found through Consul when there is one, else at a fixed URL.
  const consul = config.CONSUL_URL ? createConsul(config.CONSUL_URL) : undefined
  const resolver = consul
    ? createResolver({
        consul,
        service: 'catalog',
        onError: (err) => app.log.warn({ err }, 'consul unreachable; using the last known catalog instances')
      })
    : undefined
  const fixed = config.CATALOG_URL ? [config.CATALOG_URL.replace(/\/$/, '')] : []
  const catalog = createUpstream({
    name: 'catalog',
    instances: () => (resolver && resolver.instances().length > 0 ? resolver.instances() : fixed),
    metrics,
    timeoutMs: config.CATALOG_TIMEOUT_MS
  })
  app.lifecycle.onShutdown('closePools', async () => {
    resolver?.stop()
    await catalog.close()
  })
  const prefix = config.KAFKA_TOPIC_PREFIX

  if (options.messaging !== false) {
    await app.register(messaging, {
      brokers: config.KAFKA_BROKERS.split(','),
      clientId: SERVICE,
      metrics,
      subscriptions: [
        {
          groupId: `${prefix}${CONSUMER}`,
          topics: [`${prefix}catalog.events`],
          // Events are keyed by order, so partitions are independent: work on all three at once.
          partitionsConcurrently: 3,
          handle: stockEventsHandler({ pool: app.pg, topicPrefix: prefix }),
          // Under load a partition's waiting events go through in one transaction.
          handleBatch: stockEventsBatchHandler({ pool: app.pg, topicPrefix: prefix })
        }
      ]
    })
    let sweep: NodeJS.Timeout | undefined
    let retention: NodeJS.Timeout | undefined
    app.addHook('onReady', async () => {
      sweep = setInterval(() => {
        expirePending(app.pg, config.ORDER_TIMEOUT_MS, prefix).catch((err) =>
          app.log.error({ err }, 'expiry sweep failed')
        )
      }, config.EXPIRY_SWEEP_MS)
      // Retention: Idempotency-Keys past their replay window are removed in batches.
      retention = setInterval(() => {
        pruneIdempotencyKeys(app.pg)
          .then((removed) => removed > 0 && app.log.info({ removed }, 'expired idempotency keys removed'))
          .catch((err) => app.log.warn({ err }, 'idempotency key retention failed'))
      }, config.RETENTION_SWEEP_MS)
    })
    app.lifecycle.onShutdown('stopConsumers', () => {
      clearInterval(sweep)
      clearInterval(retention)
    })
  }

  if (consul) {
    await app.register(discovery, {
      consul,
      name: SERVICE,
      address: config.ADVERTISE_ADDRESS ?? config.HOST,
      port: config.ADVERTISE_PORT
    })
  }

  const { products } = catalogClient(catalog)
  await app.register(orderRoutes, { products, topicPrefix: prefix })
  return app
}
