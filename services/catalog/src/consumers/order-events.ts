import type { EventData } from '@platform/contracts'
import { createEnvelope, enqueue, handleOnce, type IncomingEvent } from '@platform/messaging'
import type { Pool } from '@platform/postgres'
import type { Cache } from '@platform/redis'
import type { Product } from '../domain/product.ts'
import { releaseStock, reserveStock } from '../adapters/stock-repository.ts'

export const CONSUMER = 'catalog'

/**
 * The catalog half of the order saga. order.placed reserves every line or rejects the order and
 * answers stock.reserved / stock.rejected through the outbox; order.cancelled and order.rejected
 * (including expiry) release a reservation. Each event applies once (inbox); stock changes
 * invalidate the cached products.
 */
export function orderEventsHandler(deps: { pool: Pool; cache: Cache<Product>; topicPrefix: string }) {
  return async function handle({ envelope }: IncomingEvent): Promise<void> {
    let changed: string[] = []
    switch (envelope.type) {
      case 'order.placed': {
        const order = envelope.data as EventData<'order.placed'>
        await handleOnce(deps.pool, CONSUMER, envelope.id, async (client) => {
          const decision = await reserveStock(client, order.orderId, order.lines)
          if (!decision) return
          const options = { source: 'catalog', subject: order.orderId }
          const reply = decision.ok
            ? createEnvelope('stock.reserved', { orderId: order.orderId, lines: decision.lines }, options)
            : createEnvelope(
                'stock.rejected',
                { orderId: order.orderId, reason: decision.reason, unavailable: decision.unavailable },
                options
              )
          await enqueue(client, reply.envelope.id, {
            ...reply.message,
            topic: `${deps.topicPrefix}${reply.message.topic}`
          })
          if (decision.ok) changed = decision.lines.map((l) => l.productId)
        })
        break
      }
      case 'order.cancelled':
      case 'order.rejected': {
        const { orderId } = envelope.data as { orderId: string }
        await handleOnce(deps.pool, CONSUMER, envelope.id, async (client) => {
          changed = await releaseStock(client, orderId)
        })
        break
      }
      default:
        return // order.confirmed and others need nothing from the catalog
    }
    if (changed.length > 0) await deps.cache.invalidate(...changed)
  }
}
