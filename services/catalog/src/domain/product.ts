import Type, { type Static } from 'typebox'

const Uuid = Type.String({ format: 'uuid' })

export const ProductSchema = Type.Object({
  id: Uuid,
  sku: Type.String(),
  name: Type.String(),
  description: Type.String(),
  priceMinor: Type.Integer(),
  currency: Type.String(),
  stock: Type.Integer(),
  active: Type.Boolean(),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
})
export type Product = Static<typeof ProductSchema>

/** What an admin may set. Money in minor units, stock never negative (the database checks too). */
export const ProductInputSchema = Type.Object(
  {
    sku: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.String({ maxLength: 2000, default: '' }),
    priceMinor: Type.Integer({ minimum: 0, maximum: 100_000_000_00 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    stock: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    active: Type.Boolean({ default: true })
  },
  { additionalProperties: false }
)
export type ProductInput = Static<typeof ProductInputSchema>

export const ProductPatchSchema = Type.Partial(ProductInputSchema, {
  additionalProperties: false,
  minProperties: 1
})
export type ProductPatch = Static<typeof ProductPatchSchema>

export type SortKey = 'name' | 'price'
