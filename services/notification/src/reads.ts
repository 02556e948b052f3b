// What the notification service reads of the order events it turns into notifications and emails
// (checked against their producers in npm test).
import Type from 'typebox'
import { declareReads } from '@platform/contracts'

const Uuid = Type.String({ format: 'uuid' })
const Order = { orderId: Uuid, customerId: Type.String({ minLength: 1 }) }

export const READS = declareReads({
  events: {
    'order.confirmed': Type.Object({
      ...Order,
      lines: Type.Array(
        Type.Object({ productId: Uuid, quantity: Type.Integer(), unitPriceMinor: Type.Integer() })
      ),
      totalMinor: Type.Integer(),
      currency: Type.String()
    }),
    'order.rejected': Type.Object({ ...Order, reason: Type.String() }),
    'order.cancelled': Type.Object(Order)
  }
})
