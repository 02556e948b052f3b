// What a consumer relies on, declared next to its code (services/<name>/src/reads.ts): the fields
// and types it reads from each event it consumes and each internal HTTP answer it uses. The
// contract check (scripts/contracts.ts, in npm test) proves every producer's schema and example
// satisfy them, so a producer can't drop or change what someone reads without failing it.
import Type, { type Static, type TSchema } from 'typebox'
import { ProductSchema } from './api.ts'

export interface ConsumerReads {
  /** Per event type: what the consumer reads of its data. */
  events?: Record<string, TSchema>
  /** Per internal operation (`<service> <METHOD> <path>`, see INTERNAL_API): what it reads of the answer. */
  http?: Record<string, TSchema>
}
export const declareReads = <R extends ConsumerReads>(reads: R): R => reads

export const ProductBatchRequestSchema = Type.Object(
  { ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 100, uniqueItems: true }) },
  { additionalProperties: false }
)
export const ProductBatchSchema = Type.Object({
  items: Type.Array(ProductSchema),
  missing: Type.Array(Type.String(), { description: 'ids with no product' })
})
export type ProductBatch = Static<typeof ProductBatchSchema>

/** The services' internal HTTP operations other services call (not public: the gateway has no route to them). */
export const INTERNAL_API = {
  'catalog POST /products/batch': {
    request: ProductBatchRequestSchema,
    response: ProductBatchSchema,
    example: {
      items: [
        {
          id: '9b2d6c1e-2f4a-4c7e-8a0b-5d3e1f2a4b6c',
          sku: 'MUG-01',
          name: 'Mug',
          description: 'A mug',
          priceMinor: 1250,
          currency: 'EUR',
          stock: 10,
          active: true,
          version: 3,
          createdAt: '2026-11-30T10:00:00.000Z',
          updatedAt: '2026-11-30T10:00:00.000Z'
        }
      ],
      missing: []
    } satisfies ProductBatch
  }
} as const
