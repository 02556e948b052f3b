import type { Envelope, EventData } from '@platform/contracts'
import { enqueueAll, handleBatchOnce, handleOnce, type IncomingEvent } from '@platform/messaging'
import type { Pool, PoolClient } from '@platform/postgres'
import type { Cache } from '@platform/redis'
import type { Product } from '../domain/product.ts'
import { lockProductsOf, releaseStock, reserveStockForAll } from '../adapters/stock-repository.ts'
import type { ReservationDecision } from '../domain/reserve.ts'
import { events } from '../events.ts'

export const CONSUMER = 'catalog'

interface Deps {
  pool: Pool
  cache: Cache<Product>
}

const RELEVANT = new Set(['order.placed', 'order.cancelled', 'order.rejected'])

/** The catalog's answer to a placed order, as an outbox entry. */
function answer(order: EventData<'order.placed'>, decision: ReservationDecision) {
  const options = { source: 'catalog', subject: order.orderId }
  const { envelope, message } = decision.ok
    ? events.create('stock.reserved', { orderId: order.orderId, lines: decision.lines }, options)
    : events.create(
        'stock.rejected',
        { orderId: order.orderId, reason: decision.reason, unavailable: decision.unavailable },
        options
      )
  return { id: envelope.id, message }
}

/**
 * Events' effects inside the caller's transaction, in order: order.placed reserves every line or
 * rejects the order and answers stock.reserved / stock.rejected through the outbox; order.cancelled
 * and order.rejected (including expiry) release a reservation. Consecutive placed orders are
 * decided together (a fixed number of statements). Returns the products whose stock changed.
 */
async function applyAll(client: PoolClient, envelopes: Envelope[]): Promise<string[]> {
  const changed = new Set<string>()
  const answers: Array<ReturnType<typeof answer>> = []
  for (let i = 0; i < envelopes.length;) {
    if (envelopes[i]!.type !== 'order.placed') {
      const { orderId } = envelopes[i]!.data as { orderId: string }
      for (const id of await releaseStock(client, orderId)) changed.add(id)
      i++
      continue
    }
    let end = i
    while (end < envelopes.length && envelopes[end]!.type === 'order.placed') end++
    const orders = envelopes.slice(i, end).map((e) => e.data as EventData<'order.placed'>)
    const decisions = await reserveStockForAll(client, orders)
    orders.forEach((order, k) => {
      const decision = decisions[k]
      if (!decision) return
      answers.push(answer(order, decision))
      if (decision.ok) for (const l of decision.lines) changed.add(l.productId)
    })
    i = end
  }
  await enqueueAll(client, answers)
  return [...changed]
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
      changed = await applyAll(client, [envelope])
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
    let changed: string[] = []
    await handleBatchOnce(
      deps.pool,
      CONSUMER,
      events.filter((e) => RELEVANT.has(e.envelope.type)),
      async (client, fresh) => {
        const envelopes = fresh.map((e) => e.envelope)
        await lockProductsOf(client, envelopes)
        changed = await applyAll(client, envelopes)
      }
    )
    if (changed.length > 0) await deps.cache.invalidate(...changed)
  }
}
