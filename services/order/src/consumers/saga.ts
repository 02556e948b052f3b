import type { EventData } from '@platform/contracts'
import { createEnvelope, enqueue, handleBatchOnce, handleOnce, type IncomingEvent } from '@platform/messaging'
import { withTransaction, type Pool, type PoolClient } from '@platform/postgres'
import { claimExpired, transition } from '../adapters/orders-repository.ts'
import type { Order } from '../domain/order.ts'

export const CONSUMER = 'order'

async function announce(client: PoolClient, order: Order, topicPrefix: string): Promise<void> {
  const options = { source: 'order', subject: order.id }
  const { envelope, message } =
    order.status === 'CONFIRMED'
      ? createEnvelope(
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
      : createEnvelope(
          'order.rejected',
          { orderId: order.id, customerId: order.customerId, reason: order.reason ?? 'rejected' },
          options
        )
  await enqueue(client, envelope.id, { ...message, topic: `${topicPrefix}${message.topic}` })
}

/**
 * The order side of the saga: stock.reserved confirms a PENDING order, stock.rejected rejects it
 * with the catalog's reason; each announces the outcome (order.confirmed / order.rejected) through
 * the outbox. An order no longer PENDING (cancelled, expired) is left as it is: the catalog
 * releases its stock on the order.cancelled / order.rejected it already has. Every event once.
 */
type StockEvent = Pick<IncomingEvent, 'envelope'>

/** One stock event's effect inside the caller's transaction. */
async function apply(client: PoolClient, { envelope }: StockEvent, topicPrefix: string): Promise<void> {
  const { orderId } = envelope.data as { orderId: string }
  const order =
    envelope.type === 'stock.reserved'
      ? await transition(client, orderId, ['PENDING'], 'CONFIRMED')
      : await transition(
          client,
          orderId,
          ['PENDING'],
          'REJECTED',
          (envelope.data as EventData<'stock.rejected'>).reason
        )
  if (order) await announce(client, order, topicPrefix)
}

const isStockAnswer = ({ envelope }: StockEvent) =>
  envelope.type === 'stock.reserved' || envelope.type === 'stock.rejected'

/**
 * The order side of the saga: stock.reserved confirms a PENDING order, stock.rejected rejects it
 * with the catalog's reason; each announces the outcome (order.confirmed / order.rejected) through
 * the outbox. An order no longer PENDING (cancelled, expired) is left as it is: the catalog
 * releases its stock on the order.cancelled / order.rejected it already has. Every event once.
 */
export function stockEventsHandler(deps: { pool: Pool; topicPrefix: string }) {
  return async function handle(event: IncomingEvent): Promise<void> {
    if (!isStockAnswer(event)) return
    await handleOnce(deps.pool, CONSUMER, event.envelope.id, (client) =>
      apply(client, event, deps.topicPrefix)
    )
  }
}

/** The same for consecutive events of a partition, in one transaction (one commit for all). */
export function stockEventsBatchHandler(deps: { pool: Pool; topicPrefix: string }) {
  return async function handleBatch(events: IncomingEvent[]): Promise<void> {
    await handleBatchOnce(deps.pool, CONSUMER, events.filter(isStockAnswer), async (client, fresh) => {
      for (const event of fresh) await apply(client, event, deps.topicPrefix)
    })
  }
}

/** Rejects PENDING orders older than `timeoutMs` as expired (the catalog then releases any stock). */
export async function expirePending(pool: Pool, timeoutMs: number, topicPrefix: string): Promise<number> {
  return withTransaction(pool, async (client) => {
    const ids = await claimExpired(client, timeoutMs, 100)
    for (const id of ids) {
      const order = await transition(
        client,
        id,
        ['PENDING'],
        'REJECTED',
        'expired: no answer from the catalog in time'
      )
      if (order) await announce(client, order, topicPrefix)
    }
    return ids.length
  })
}
