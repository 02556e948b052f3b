import Type, { type Static } from 'typebox'
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

export const OrderLineSchema = Type.Object({
  productId: Type.String({ format: 'uuid' }),
  quantity: Type.Integer(),
  unitPriceMinor: Type.Integer()
})

export const OrderSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  customerId: Type.String(),
  status: Type.Union([
    Type.Literal('PENDING'),
    Type.Literal('CONFIRMED'),
    Type.Literal('REJECTED'),
    Type.Literal('CANCELLED')
  ]),
  lines: Type.Array(OrderLineSchema),
  totalMinor: Type.Integer(),
  currency: Type.String(),
  reason: Type.Optional(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
})
export type Order = Static<typeof OrderSchema>

export const PlaceOrderSchema = Type.Object(
  {
    lines: Type.Array(
      Type.Object(
        { productId: Type.String({ format: 'uuid' }), quantity: Type.Integer({ minimum: 1, maximum: 100 }) },
        { additionalProperties: false }
      ),
      { minItems: 1, maxItems: 50 }
    )
  },
  { additionalProperties: false }
)
export type PlaceOrder = Static<typeof PlaceOrderSchema>

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
