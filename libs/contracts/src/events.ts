import Type, { type Static, type TSchema } from 'typebox'

const Uuid = Type.String({ format: 'uuid' })
const Currency = Type.String({ pattern: '^[A-Z]{3}$' }) // ISO 4217 code
const MinorUnits = Type.Integer({ minimum: 0 }) // money in the currency's minor unit (cents)

export const OrderLineSchema = Type.Object(
  {
    productId: Uuid,
    quantity: Type.Integer({ minimum: 1, maximum: 100 }),
    unitPriceMinor: MinorUnits
  },
  { additionalProperties: false }
)
export type OrderLine = Static<typeof OrderLineSchema>

const OrderRef = { orderId: Uuid, customerId: Type.String({ minLength: 1, maxLength: 128 }) }

export const OrderPlacedSchema = Type.Object(
  {
    ...OrderRef,
    lines: Type.Array(OrderLineSchema, { minItems: 1, maxItems: 50 }),
    totalMinor: MinorUnits,
    currency: Currency
  },
  { additionalProperties: false }
)
export const OrderConfirmedSchema = OrderPlacedSchema
export const OrderRejectedSchema = Type.Object(
  { ...OrderRef, reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false }
)
export const OrderCancelledSchema = Type.Object({ ...OrderRef }, { additionalProperties: false })

export const StockReservedSchema = Type.Object(
  {
    orderId: Uuid,
    lines: Type.Array(
      Type.Object(
        { productId: Uuid, quantity: Type.Integer({ minimum: 1 }) },
        { additionalProperties: false }
      ),
      {
        minItems: 1
      }
    )
  },
  { additionalProperties: false }
)
export const StockRejectedSchema = Type.Object(
  {
    orderId: Uuid,
    reason: Type.String({ minLength: 1, maxLength: 500 }),
    unavailable: Type.Array(
      Type.Object(
        { productId: Uuid, requested: Type.Integer({ minimum: 1 }), available: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false }
      )
    )
  },
  { additionalProperties: false }
)

/** Every event type the platform publishes, its data schema, and the topic it travels on. */
export const Events = {
  'order.placed': { topic: 'order.events', schema: OrderPlacedSchema },
  'order.confirmed': { topic: 'order.events', schema: OrderConfirmedSchema },
  'order.rejected': { topic: 'order.events', schema: OrderRejectedSchema },
  'order.cancelled': { topic: 'order.events', schema: OrderCancelledSchema },
  'stock.reserved': { topic: 'catalog.events', schema: StockReservedSchema },
  'stock.rejected': { topic: 'catalog.events', schema: StockRejectedSchema }
} as const satisfies Record<string, { topic: string; schema: TSchema }>

export type EventType = keyof typeof Events
export type EventData<T extends EventType> = Static<(typeof Events)[T]['schema']>

/** A CloudEvents 1.0 envelope (structured mode) with W3C trace context as extension attributes. */
export const EnvelopeSchema = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Uuid,
  type: Type.String({ minLength: 1 }),
  source: Type.String({ minLength: 1 }),
  time: Type.String({ format: 'date-time' }),
  subject: Type.Optional(Type.String()),
  datacontenttype: Type.Literal('application/json'),
  traceparent: Type.Optional(Type.String()),
  tracestate: Type.Optional(Type.String()),
  data: Type.Unknown()
})
export type Envelope<T = unknown> = Omit<Static<typeof EnvelopeSchema>, 'data'> & { data: T }
