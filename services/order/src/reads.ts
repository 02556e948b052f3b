// What the order service reads of the catalog's events and of its batch lookup (checked against
// their producers in npm test).
import Type from 'typebox'
import { declareReads } from '@platform/contracts'

const Uuid = Type.String({ format: 'uuid' })

/** The catalog's batch lookup, as the order service prices a basket with it. */
export const ProductBatchRead = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Uuid,
      priceMinor: Type.Integer({ minimum: 0 }),
      currency: Type.String({ pattern: '^[A-Z]{3}$' }),
      active: Type.Boolean()
    })
  )
})

export const READS = declareReads({
  events: {
    'stock.reserved': Type.Object({ orderId: Uuid }),
    'stock.rejected': Type.Object({ orderId: Uuid, reason: Type.String() })
  },
  http: {
    'catalog POST /products/batch': ProductBatchRead
  }
})
