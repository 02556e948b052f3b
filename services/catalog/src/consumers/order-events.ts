import type { EventData } from '@platform/contracts'
import { createEnvelope, enqueue, handleBatchOnce, handleOnce, type IncomingEvent } from '@platform/messaging'
import type { Pool, PoolClient } from '@platform/postgres'
import type { Cache } from '@platform/redis'
import type { Product } from '../domain/product.ts'
import { lockProductsOf, releaseStock, reserveStock } from '../adapters/stock-repository.ts'

export const CONSUMER = 'catalog'

interface Deps {
  pool: Pool
  cache: Cache<Product>
  topicPrefix: string
}

const RELEVANT = new Set(['order.placed', 'order.cancelled', 'order.rejected'])

/**
 * One event's effect inside the caller's transaction: order.placed reserves every line or rejects
 * the order and answers stock.reserved / stock.rejected through the outbox; order.cancelled and
 * order.rejected (including expiry) release a reservation. Returns the products whose stock changed.
 */
async function apply(client: PoolClient, envelope: IncomingEvent['envelope'], topicPrefix: string) {
  if (envelope.type !== 'order.placed') {
    return releaseStock(client, (envelope.data as { orderId: string }).orderId)
  }
  const order = envelope.data as EventData<'order.placed'>
  const decision = await reserveStock(client, order.orderId, order.lines)
  if (!decision) return []
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
    topic: `${topicPrefix}${reply.message.topic}`
  })
  return decision.ok ? decision.lines.map((l) => l.productId) : []
}

/**
 * The catalog half of the order saga. Each event applies once (inbox); stock changes invalidate
 * the cached products after commit. order.confirmed and others need nothing from the catalog.
 */
export function orderEventsHandler(deps: Deps) {
  return async function handle({ envelope }: IncomingEvent): Promise<void> {
    if (!RELEVANT.has(envelope.type)) return
    let changed: string[] = []
    await handleOnce(deps.pool, CONSUMER, envelope.id, async (client) => {
      changed = await apply(client, envelope, deps.topicPrefix)
    })
    if (changed.length > 0) await deps.cache.invalidate(...changed)
  }
}

/**
 * The same for consecutive events of a partition in one transaction (one commit for all). Every
 * product the batch may change is locked first, in id order, so batches of concurrent partitions
 * or instances can't deadlock on each other.
 */
export function orderEventsBatchHandler(deps: Deps) {
  return async function handleBatch(events: IncomingEvent[]): Promise<void> {
    const relevant = events.filter((e) => RELEVANT.has(e.envelope.type))
    const changed = new Set<string>()
    await handleBatchOnce(
      deps.pool,
      CONSUMER,
      relevant,
      async (client, { envelope }) => {
        for (const id of await apply(client, envelope, deps.topicPrefix)) changed.add(id)
      },
      {
        before: (client, applied) =>
          lockProductsOf(
            client,
            applied.map((e) => e.envelope)
          )
      }
    )
    if (changed.size > 0) await deps.cache.invalidate(...changed)
  }
}
