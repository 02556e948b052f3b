import { AppError, NotFoundError } from '@platform/errors'
import { assertTransition, type Order } from './order.ts'

export interface CancelOrderDeps {
  /** The customer's order; another customer's is indistinguishable from none. */
  find(orderId: string, customerId: string): Promise<Order | undefined>
  /** Moves it from the state it was read in to CANCELLED; undefined when it changed meanwhile. */
  cancel(order: Order): Promise<Order | undefined>
  /** Tells the others (order.cancelled: the catalog releases the stock), with the change. */
  announce(order: Order): Promise<void>
}

/**
 * A customer cancels one of their orders: only from a state that allows it (PENDING or CONFIRMED),
 * and only if it did not change since it was read (the saga may have moved it): a 409 then.
 */
export async function cancelOrder(
  customerId: string,
  orderId: string,
  deps: CancelOrderDeps
): Promise<Order> {
  const current = await deps.find(orderId, customerId)
  if (!current) throw new NotFoundError('ORDER_NOT_FOUND', 'no such order')
  assertTransition(current.status, 'CANCELLED')
  const cancelled = await deps.cancel(current)
  if (!cancelled) throw new AppError(409, 'ILLEGAL_TRANSITION', 'the order changed; read it again')
  await deps.announce(cancelled)
  return cancelled
}
