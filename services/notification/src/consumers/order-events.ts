import type { EventData } from '@platform/contracts'
import { handleOnce, type IncomingEvent } from '@platform/messaging'
import type { Pool } from '@platform/postgres'
import { storeNotification } from '../adapters/notifications-repository.ts'
import { KINDS, type Kind, type Message } from '../domain/render.ts'

export const CONSUMER = 'notification'

export interface OrderEventsDeps {
  pool: Pool
  render: (kind: Kind, data: EventData<Kind>) => Message
  /** The customer's email address; undefined → in-app only. */
  recipientOf: (customerId: string) => string | undefined
  /** Called after a notification committed (wakes the email sender). */
  onStored: () => void
}

const isKind = (type: string): type is Kind => (KINDS as readonly string[]).includes(type)

/**
 * order.confirmed / order.rejected / order.cancelled → one stored notification (in-app) and one
 * pending email per order and kind. Other order events are not for customers and are skipped.
 * Each event is applied once (inbox); a second event of the same order and kind adds nothing.
 */
export function orderEventsHandler(deps: OrderEventsDeps) {
  return async function handle({ envelope }: IncomingEvent): Promise<void> {
    if (!isKind(envelope.type)) return
    const kind = envelope.type
    const data = envelope.data as EventData<Kind> // checked against its contract by the bus
    const message = deps.render(kind, data)
    const recipient = deps.recipientOf(data.customerId)
    let stored = false
    await handleOnce(deps.pool, CONSUMER, envelope.id, async (client) => {
      const seq = await storeNotification(client, {
        customerId: data.customerId,
        orderId: data.orderId,
        kind,
        eventId: envelope.id,
        message,
        ...(recipient ? { recipient } : {})
      })
      stored = seq !== undefined
    })
    if (stored) deps.onStored()
  }
}
