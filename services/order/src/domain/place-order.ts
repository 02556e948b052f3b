import { createHash, randomUUID } from 'node:crypto'
import { AppError } from '@platform/errors'
import { priceBasket, type CatalogProduct, type Order, type PlaceOrder } from './order.ts'

export interface PlaceOrderDeps {
  findStored(
    customerId: string,
    key: string
  ): Promise<{ requestHash: string; status: number; body: Order } | undefined>
  products(ids: string[]): Promise<CatalogProduct[]>
  /** Writes the order, its order.placed event and the idempotency record atomically. */
  save(order: Order, idempotency: { key: string; requestHash: string }): Promise<void>
  /** True when save() failed because another request with the same key committed first. */
  isRace(err: unknown): boolean
  /** Removes the caller's key if it has expired (older than the replay window); true if it did. */
  forgetExpired(customerId: string, key: string): Promise<boolean>
  now(): Date
}

export function requestHash(request: PlaceOrder): string {
  return createHash('sha256')
    .update(JSON.stringify(request.lines.map((l) => [l.productId, l.quantity])))
    .digest('hex')
}

/**
 * POST /orders: the same Idempotency-Key and body give the same answer and one order; the same key
 * with another body is a 422. The basket is priced by the catalog before anything is written.
 *
 * A key's first request is by far the common case, so it is not looked up first (one statement
 * less per order): the idempotency record is written with the order, and a replay meets it as a
 * unique-key conflict, then gets the stored answer. A replay whose pricing fails (the catalog
 * down, a product since deactivated) still gets the stored answer.
 */
export async function placeOrder(
  customerId: string,
  key: string,
  request: PlaceOrder,
  deps: PlaceOrderDeps
): Promise<{ status: number; order: Order }> {
  const hash = requestHash(request)
  const replay = async (stored: { requestHash: string; status: number; body: Order }) => {
    if (stored.requestHash !== hash) {
      throw new AppError(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        'this Idempotency-Key was used with a different request'
      )
    }
    return { status: stored.status, order: stored.body }
  }
  let priced: ReturnType<typeof priceBasket>
  try {
    priced = priceBasket(request, await deps.products([...new Set(request.lines.map((l) => l.productId))]))
  } catch (err) {
    const stored = await deps.findStored(customerId, key)
    if (stored) return replay(stored)
    throw err
  }
  const now = deps.now().toISOString()
  const order: Order = {
    id: randomUUID(),
    customerId,
    status: 'PENDING',
    ...priced,
    createdAt: now,
    updatedAt: now
  }
  // The key may conflict with its own expired record (reused after the replay window, not yet
  // pruned): that record is removed and the order saved again, once.
  for (let attempt = 0; ; attempt++) {
    try {
      await deps.save(order, { key, requestHash: hash })
      return { status: 201, order }
    } catch (err) {
      if (!deps.isRace(err)) throw err
      const winner = await deps.findStored(customerId, key)
      if (winner) return replay(winner)
      if (attempt > 0 || !(await deps.forgetExpired(customerId, key))) throw err
    }
  }
}
