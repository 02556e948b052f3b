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

/**
 * One event type: its topic, the version of its data schema, an example, and — for one release
 * after an incompatible change — the previous version consumers still read, with the step that
 * turns such data into the current shape. A change that breaks a consumer fails the contract check
 * (libs/contracts/baseline) unless the version is bumped and `previous` kept.
 */
export interface EventContract<S extends TSchema = TSchema> {
  topic: string
  version: number
  schema: S
  example: Static<S>
  previous?: { version: number; schema: TSchema; upgrade: (data: never) => Static<S> }
}
const contract = <S extends TSchema>(c: EventContract<S>) => c

const order = '3f6b7f7e-5a1c-4a5e-9a44-0c6f4f0d2b11'
const product = '9b2d6c1e-2f4a-4c7e-8a0b-5d3e1f2a4b6c'
const placed = {
  orderId: order,
  customerId: 'alice',
  lines: [{ productId: product, quantity: 2, unitPriceMinor: 1250 }],
  totalMinor: 2500,
  currency: 'EUR'
}

/** Every event type the platform publishes, its data schema, and the topic it travels on. */
export const Events = {
  'order.placed': contract({ topic: 'order.events', version: 1, schema: OrderPlacedSchema, example: placed }),
  'order.confirmed': contract({
    topic: 'order.events',
    version: 1,
    schema: OrderConfirmedSchema,
    example: placed
  }),
  'order.rejected': contract({
    topic: 'order.events',
    version: 1,
    schema: OrderRejectedSchema,
    example: { orderId: order, customerId: 'alice', reason: 'out of stock: 9b2d6c1e' }
  }),
  'order.cancelled': contract({
    topic: 'order.events',
    version: 1,
    schema: OrderCancelledSchema,
    example: { orderId: order, customerId: 'alice' }
  }),
  'stock.reserved': contract({
    topic: 'catalog.events',
    version: 1,
    schema: StockReservedSchema,
    example: { orderId: order, lines: [{ productId: product, quantity: 2 }] }
  }),
  'stock.rejected': contract({
    topic: 'catalog.events',
    version: 1,
    schema: StockRejectedSchema,
    example: {
      orderId: order,
      reason: 'not enough stock',
      unavailable: [{ productId: product, requested: 2, available: 1 }]
    }
  })
} as const

/** The CloudEvents `dataschema` of an event type's version. */
export const dataSchemaOf = (type: string, version: number) => `urn:platform:events:${type}:v${version}`
/** The version a `dataschema` names; events without one are version 1 (the first). */
export function versionOf(dataschema: string | undefined): number | undefined {
  if (dataschema === undefined) return 1
  const match = /:v([0-9]{1,6})$/.exec(dataschema)
  return match ? Number(match[1]) : undefined
}

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
  dataschema: Type.Optional(Type.String({ minLength: 1, description: 'the data schema and its version' })),
  traceparent: Type.Optional(Type.String()),
  tracestate: Type.Optional(Type.String()),
  data: Type.Unknown()
})
export type Envelope<T = unknown> = Omit<Static<typeof EnvelopeSchema>, 'data'> & { data: T }
