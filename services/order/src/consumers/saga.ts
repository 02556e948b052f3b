import type { EventData } from '@platform/contracts'
import { enqueueAll, handleBatchOnce, handleOnce, type IncomingEvent } from '@platform/messaging'
import { withTransaction, type Pool, type PoolClient } from '@platform/postgres'
import { claimExpired, transitionAll } from '../adapters/orders-repository.ts'
import type { Order } from '../domain/order.ts'
import { events } from '../events.ts'

export const CONSUMER = 'order'

/** The outcome of an order, as an outbox entry: order.confirmed or order.rejected. */
function announcement(order: Order) {
  const options = { source: 'order', subject: order.id }
  const { envelope, message } =
    order.status === 'CONFIRMED'
      ? events.create(
          'order.confirmed',
          {
            orderId: order.id,
            customerId: order.customerId,
            lines: order.lines,
            totalMinor: order.totalMinor,
            currency: order.currency
          },
          options
        )
      : events.create(
          'order.rejected',
          { orderId: order.id, customerId: order.customerId, reason: order.reason ?? 'rejected' },
          options
        )
  return { id: envelope.id, message }
}

type StockEvent = Pick<IncomingEvent, 'envelope'>

const isStockAnswer = ({ envelope }: StockEvent) =>
  envelope.type === 'stock.reserved' || envelope.type === 'stock.rejected'

/** Told of the orders decided, once their transaction committed (the decision-time metric). */
export type Decided = (orders: Order[]) => void

/** Stock events' effects inside the caller's transaction: two statements however many. */
async function applyAll(client: PoolClient, events: StockEvent[]): Promise<Order[]> {
  const moved = await transitionAll(
    client,
    ['PENDING'],
    events.map(({ envelope }) => {
      const { orderId } = envelope.data as { orderId: string }
      return envelope.type === 'stock.reserved'
        ? { id: orderId, to: 'CONFIRMED' as const }
        : {
            id: orderId,
            to: 'REJECTED' as const,
            reason: (envelope.data as EventData<'stock.rejected'>).reason
          }
    })
  )
  await enqueueAll(client, moved.map(announcement))
  return moved
}

/**
 * The order side of the saga: stock.reserved confirms a PENDING order, stock.rejected rejects it
 * with the catalog's reason; each announces the outcome (order.confirmed / order.rejected) through
 * the outbox. An order no longer PENDING (cancelled, expired) is left as it is: the catalog
 * releases its stock on the order.cancelled / order.rejected it already has. Every event once.
 */
export function stockEventsHandler(deps: { pool: Pool; decided: Decided }) {
  return async function handle(event: IncomingEvent): Promise<void> {
    if (!isStockAnswer(event)) return
    const decided: Order[] = []
    await handleOnce(deps.pool, CONSUMER, event.envelope.id, async (client) => {
      decided.push(...(await applyAll(client, [event])))
    })
    deps.decided(decided)
  }
}

/** The same for consecutive events of a partition, in one transaction (one commit for all). */
export function stockEventsBatchHandler(deps: { pool: Pool; decided: Decided }) {
  return async function handleBatch(events: IncomingEvent[]): Promise<void> {
    const decided: Order[] = []
    await handleBatchOnce(deps.pool, CONSUMER, events.filter(isStockAnswer), async (client, fresh) => {
      decided.push(...(await applyAll(client, fresh)))
    })
    deps.decided(decided)
  }
}

/** The reason of an order rejected because the catalog never answered. */
export const EXPIRED = 'expired: no answer from the catalog in time'

/** Rejects PENDING orders older than `timeoutMs` as expired (the catalog then releases any stock). */
export async function expirePending(pool: Pool, timeoutMs: number, decided: Decided): Promise<number> {
  const expired = await withTransaction(pool, async (client) => {
    const ids = await claimExpired(client, timeoutMs, 100)
    const moved = await transitionAll(
      client,
      ['PENDING'],
      ids.map((id) => ({ id, to: 'REJECTED' as const, reason: EXPIRED }))
    )
    await enqueueAll(client, moved.map(announcement))
    return moved
  })
  decided(expired)
  return expired.length
}
