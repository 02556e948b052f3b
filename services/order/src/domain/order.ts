import { AppError } from '@platform/errors'

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED'

// PENDING → CONFIRMED or REJECTED (the catalog's answer, or expiry); PENDING or CONFIRMED → CANCELLED.
const TRANSITIONS: Record<OrderStatus, OrderStatus[]> = {
  PENDING: ['CONFIRMED', 'REJECTED', 'CANCELLED'],
  CONFIRMED: ['CANCELLED'],
  REJECTED: [],
  CANCELLED: []
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to)
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to))
    throw new AppError(409, 'ILLEGAL_TRANSITION', `an order that is ${from} cannot become ${to}`)
}

// The order resource and the basket are part of the public API contract (@platform/contracts).
import type { PlaceOrder } from '@platform/contracts'
export { OrderSchema, PlaceOrderSchema, type Order, type PlaceOrder } from '@platform/contracts'

export interface CatalogProduct {
  id: string
  priceMinor: number
  currency: string
  active: boolean
}

/**
 * Prices a basket from the catalog's answer: every product must exist and be active (else 422
 * naming them), and share one currency. Unit prices are captured now, at order time.
 */
export function priceBasket(request: PlaceOrder, products: CatalogProduct[]) {
  const byId = new Map(products.map((p) => [p.id, p]))
  const unavailable = [...new Set(request.lines.map((l) => l.productId))].filter(
    (id) => !byId.get(id)?.active
  )
  if (unavailable.length > 0) {
    throw new AppError(422, 'PRODUCTS_UNAVAILABLE', 'some products do not exist or are not for sale', {
      details: { productIds: unavailable }
    })
  }
  const currencies = new Set(request.lines.map((l) => byId.get(l.productId)!.currency))
  if (currencies.size > 1)
    throw new AppError(422, 'MIXED_CURRENCIES', 'all products of an order must share one currency')
  const lines = request.lines.map((l) => ({
    productId: l.productId,
    quantity: l.quantity,
    unitPriceMinor: byId.get(l.productId)!.priceMinor
  }))
  return {
    lines,
    totalMinor: lines.reduce((sum, l) => sum + l.quantity * l.unitPriceMinor, 0),
    currency: [...currencies][0]!
  }
}
