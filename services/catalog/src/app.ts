import type { FastifyInstance } from 'fastify'
import { createCache, noCache, redis } from '@platform/redis'
import { Events } from '@platform/contracts'
import { createService, type ServiceAppOptions } from '@platform/service'
import { manifest, type Config } from './config.ts'
import { orderEventsBatchHandler, orderEventsHandler } from './consumers/order-events.ts'
import type { Product } from './domain/product.ts'
import { productRoutes } from './routes/products.ts'

/** The catalog's own wiring on the service base. Never listens: server.ts does. */
export async function buildApp(config: Config, options: ServiceAppOptions = {}): Promise<FastifyInstance> {
  const service = await createService({
    manifest,
    config,
    events: Events,
    ...options
  })
  const { app, metrics } = service

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

  service.consume({
    // Events are keyed by order, so partitions are independent: work on all three at once.
    partitionsConcurrently: 3,
    handle: orderEventsHandler({ pool: app.pg, cache }),
    // Under load a partition's waiting events go through in one transaction.
    handleBatch: orderEventsBatchHandler({ pool: app.pg, cache })
  })

  await app.register(productRoutes, { cache })
  return app
}
