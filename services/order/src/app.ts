import type { FastifyInstance } from 'fastify'
import { Events } from '@platform/contracts'
import { createService, type ServiceAppOptions } from '@platform/service'
import { manifest, type Config } from './config.ts'
import { catalogClient } from './adapters/catalog-client.ts'
import { pruneIdempotencyKeys } from './adapters/orders-repository.ts'
import { expirePending, stockEventsBatchHandler, stockEventsHandler } from './consumers/saga.ts'
import { decisionMetric } from './metrics.ts'
import { orderRoutes } from './routes/orders.ts'

/** The order service's own wiring on the service base. Never listens: server.ts does. */
export async function buildApp(config: Config, options: ServiceAppOptions = {}): Promise<FastifyInstance> {
  const service = await createService({
    manifest,
    config,
    events: Events,
    ...options
  })
  const { app } = service
  const decided = decisionMetric(service.metrics.registry)
  const catalog = service.upstream('catalog', {
    url: config.CATALOG_URL,
    timeoutMs: config.CATALOG_TIMEOUT_MS
  })

  service.consume({
    // Events are keyed by order, so partitions are independent: work on all three at once.
    partitionsConcurrently: 3,
    handle: stockEventsHandler({ pool: app.pg, decided }),
    // Under load a partition's waiting events go through in one transaction.
    handleBatch: stockEventsBatchHandler({ pool: app.pg, decided })
  })

  if (options.messaging !== false) {
    let sweep: NodeJS.Timeout | undefined
    let retention: NodeJS.Timeout | undefined
    app.addHook('onReady', async () => {
      sweep = setInterval(() => {
        expirePending(app.pg, config.ORDER_TIMEOUT_MS, decided).catch((err) =>
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

  const { products } = catalogClient(catalog)
  await app.register(orderRoutes, { products })
  return app
}
