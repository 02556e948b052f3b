// The public API's resources: what the services answer and accept, and what the gateway documents
// (OpenAPI at /api/docs). One definition each, so the documentation can't drift from the services.
import Type, { type Static } from 'typebox'

/**
 * The public API's version (the OpenAPI document's). A breaking change fails the contract check
 * against libs/contracts/baseline unless this major is bumped and the baseline renewed on purpose.
 */
export const API_VERSION = '1.0.0'

const Uuid = Type.String({ format: 'uuid' })
const DateTime = Type.String({ format: 'date-time' })

export const ProductSchema = Type.Object({
  id: Uuid,
  sku: Type.String(),
  name: Type.String(),
  description: Type.String(),
  priceMinor: Type.Integer({ minimum: 0, description: 'price in the currency’s minor unit (cents)' }),
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' }),
  stock: Type.Integer({ minimum: 0 }),
  active: Type.Boolean(),
  version: Type.Integer({ description: 'also the ETag; send it in If-Match to change the product' }),
  createdAt: DateTime,
  updatedAt: DateTime
})
export type Product = Static<typeof ProductSchema>

/** What an admin may set. Money in minor units, stock never negative (the database checks too). */
const productFields = {
  sku: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.String({ maxLength: 2000 }),
  priceMinor: Type.Integer({ minimum: 0, maximum: 100_000_000_00 }),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  stock: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  active: Type.Boolean()
}

/** A whole product (POST, PUT): what it leaves out takes the defaults. */
export const ProductInputSchema = Type.Object(
  {
    ...productFields,
    description: Type.Optional(Type.String({ maxLength: 2000, default: '' })),
    active: Type.Optional(Type.Boolean({ default: true }))
  },
  { additionalProperties: false }
)
export type ProductInput = Static<typeof ProductInputSchema>

/** A partial update (PATCH) changes only the fields it names: no defaults, they belong to creation. */
export const ProductPatchSchema = Type.Partial(Type.Object(productFields), {
  additionalProperties: false,
  minProperties: 1
})
export type ProductPatch = Static<typeof ProductPatchSchema>

export const OrderSchema = Type.Object({
  id: Uuid,
  customerId: Type.String(),
  status: Type.Union([
    Type.Literal('PENDING'),
    Type.Literal('CONFIRMED'),
    Type.Literal('REJECTED'),
    Type.Literal('CANCELLED')
  ]),
  lines: Type.Array(
    Type.Object({ productId: Uuid, quantity: Type.Integer(), unitPriceMinor: Type.Integer() })
  ),
  totalMinor: Type.Integer(),
  currency: Type.String(),
  reason: Type.Optional(Type.String()),
  createdAt: DateTime,
  updatedAt: DateTime
})
export type Order = Static<typeof OrderSchema>

export const PlaceOrderSchema = Type.Object(
  {
    lines: Type.Array(
      Type.Object(
        { productId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 100 }) },
        { additionalProperties: false }
      ),
      { minItems: 1, maxItems: 50 }
    )
  },
  { additionalProperties: false }
)
export type PlaceOrder = Static<typeof PlaceOrderSchema>

export const NOTIFICATION_KINDS = ['order.confirmed', 'order.rejected', 'order.cancelled'] as const

/** A position in a caller's notification feed: the SSE event id, and Last-Event-ID to resume after it. */
export const FeedPositionSchema = Type.String({
  pattern: '^(0|[1-9][0-9]{0,18})$',
  description: 'position in the caller’s feed; the SSE event id'
})

export const NotificationSchema = Type.Object({
  id: Uuid,
  seq: FeedPositionSchema,
  orderId: Uuid,
  kind: Type.Union([
    Type.Literal(NOTIFICATION_KINDS[0]),
    Type.Literal(NOTIFICATION_KINDS[1]),
    Type.Literal(NOTIFICATION_KINDS[2])
  ]),
  subject: Type.String(),
  text: Type.String(),
  createdAt: DateTime,
  email: Type.Optional(
    Type.Object({
      status: Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('failed')]),
      attempts: Type.Integer()
    })
  )
})
export type Notification = Static<typeof NotificationSchema>

/** The development issuer's sign-in (demo users only; off unless the gateway is configured for it). */
export const TokenRequestSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ maxLength: 200 })
  },
  { additionalProperties: false }
)
export type TokenRequest = Static<typeof TokenRequestSchema>

export const TokenSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds' })
})
export type Token = Static<typeof TokenSchema>
