import { fileURLToPath } from 'node:url'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { createConsul, discovery } from '@platform/discovery'
import { httpKit, serverOptions } from '@platform/http-kit'
import { loggerOptions } from '@platform/logging'
import { messaging, messagingMigrationsDir } from '@platform/messaging'
import { createMetrics } from '@platform/metrics'
import { postgres } from '@platform/postgres'
import { createCache, noCache, redis } from '@platform/redis'
import type { Config } from './config.ts'
import { CONSUMER, orderEventsBatchHandler, orderEventsHandler } from './consumers/order-events.ts'
import type { Product } from './domain/product.ts'
import { productRoutes } from './routes/products.ts'

export const SERVICE = 'catalog'
export const VERSION = '0.1.0'
export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))
/** What `npm run migrate` and MIGRATE_AT_START apply: the service's own tables, then the outbox and inbox. */
export const migrationSets = [
  { dir: migrationsDir },
  { dir: messagingMigrationsDir, table: 'messaging_migrations' }
]

export interface AppOptions {
  /** Consume order events and relay the outbox (off for tests that only exercise routes). */
  messaging?: boolean
}

/** The catalog service's whole wiring. Never listens: server.ts does. */
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
  // A cache: the catalog answers from Postgres while Redis is away, so Redis doesn't gate readiness.
  await app.register(redis, { url: config.REDIS_URL, name: 'cache', required: false })
  const cache = config.CACHE_ENABLED
    ? createCache<Product>({
        redis: app.redis,
        name: 'product',
        ttlSeconds: config.CACHE_TTL_SECONDS,
        metrics,
        onError: (err, operation) => app.log.debug({ err, operation }, 'product cache unavailable')
      })
    : noCache<Product>()

  if (options.messaging !== false) {
    const prefix = config.KAFKA_TOPIC_PREFIX
    await app.register(messaging, {
      brokers: config.KAFKA_BROKERS.split(','),
      clientId: SERVICE,
      metrics,
      subscriptions: [
        {
          groupId: `${prefix}${CONSUMER}`,
          topics: [`${prefix}order.events`],
          // Events are keyed by order, so partitions are independent: work on all three at once.
          partitionsConcurrently: 3,
          handle: orderEventsHandler({ pool: app.pg, cache, topicPrefix: prefix }),
          // Under load a partition's waiting events go through in one transaction.
          handleBatch: orderEventsBatchHandler({ pool: app.pg, cache, topicPrefix: prefix })
        }
      ]
    })
  }

  if (config.CONSUL_URL) {
    await app.register(discovery, {
      consul: createConsul(config.CONSUL_URL),
      name: SERVICE,
      address: config.ADVERTISE_ADDRESS ?? config.HOST,
      port: config.ADVERTISE_PORT
    })
  }

  await app.register(productRoutes, { cache })
  return app
}
