// What the catalog reads of the events it consumes (checked against their producers in npm test).
import Type from 'typebox'
import { declareReads } from '@platform/contracts'

const Uuid = Type.String({ format: 'uuid' })
const OrderId = Type.Object({ orderId: Uuid })

export const READS = declareReads({
  events: {
    // Reserves every line, or rejects the order.
    'order.placed': Type.Object({
      orderId: Uuid,
      lines: Type.Array(Type.Object({ productId: Uuid, quantity: Type.Integer({ minimum: 1 }) }), {
        minItems: 1
      })
    }),
    // Release the order's reservation.
    'order.cancelled': OrderId,
    'order.rejected': OrderId
  }
})
