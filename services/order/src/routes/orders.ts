import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ErrorBodySchema, PageQuerySchema, PageSchema } from '@platform/contracts'
import { AppError, NotFoundError } from '@platform/errors'
import { callerOf } from '@platform/http-kit'
import { enqueue } from '@platform/messaging'
import { withTransaction } from '@platform/postgres'
import {
  findIdempotent,
  findOrder,
  forgetExpiredKey,
  IdempotencyRace,
  insertOrder,
  listOrders,
  transition
} from '../adapters/orders-repository.ts'
import { cancelOrder } from '../domain/cancel-order.ts'
import { OrderSchema, PlaceOrderSchema, type Order } from '../domain/order.ts'
import { placeOrder } from '../domain/place-order.ts'
import { events } from '../events.ts'

export interface OrderRoutesOptions {
  products: (
    ids: string[],
    requestId: string
  ) => Promise<Array<{ id: string; priceMinor: number; currency: string; active: boolean }>>
}

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
const Errors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  404: ErrorBodySchema,
  409: ErrorBodySchema,
  422: ErrorBodySchema,
  503: ErrorBodySchema
}

export const orderRoutes: FastifyPluginAsyncTypebox<OrderRoutesOptions> = async (app, { products }) => {
  const pg = app.pg
  const event = (type: 'order.placed' | 'order.cancelled', order: Order) => {
    const data =
      type === 'order.placed'
        ? {
            orderId: order.id,
            customerId: order.customerId,
            lines: order.lines,
            totalMinor: order.totalMinor,
            currency: order.currency
          }
        : { orderId: order.id, customerId: order.customerId }
    const { envelope, message } = events.create(type, data as never, { source: 'order', subject: order.id })
    return { id: envelope.id, message }
  }

  app.post(
    '/orders',
    {
      schema: {
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))
        }),
        body: PlaceOrderSchema,
        response: { 200: OrderSchema, 201: OrderSchema, ...Errors }
      }
    },
    async (request, reply) => {
      const customerId = callerOf(request).id
      const key = request.headers['idempotency-key']
      if (!key)
        throw new AppError(
          400,
          'IDEMPOTENCY_KEY_REQUIRED',
          'send an Idempotency-Key header with every POST /orders'
        )
      const { status, order } = await placeOrder(customerId, key, request.body, {
        findStored: (customer, k) => findIdempotent(pg, customer, k),
        products: (ids) => products(ids, request.id),
        save: (o, idempotency) => insertOrder(pg, o, idempotency, event('order.placed', o)),
        isRace: (err) => err instanceof IdempotencyRace,
        forgetExpired: (customer, k) => forgetExpiredKey(pg, customer, k),
        now: () => new Date()
      })
      return reply.code(status).header('location', `/orders/${order.id}`).send(order)
    }
  )

  app.get(
    '/orders/:id',
    { schema: { params: IdParams, response: { 200: OrderSchema, ...Errors } } },
    async (request) => {
      // Another customer's order is indistinguishable from none.
      const order = await findOrder(pg, request.params.id, callerOf(request).id)
      if (!order) throw new NotFoundError('ORDER_NOT_FOUND', 'no such order')
      return order
    }
  )

  app.get(
    '/orders',
    {
      schema: {
        querystring: Type.Object(PageQuerySchema.properties, { additionalProperties: false }),
        response: {
          200: PageSchema(OrderSchema),
          ...Errors
        }
      }
    },
    async (request) => listOrders(pg, callerOf(request).id, request.query.limit, request.query.cursor)
  )

  app.post(
    '/orders/:id/cancel',
    { schema: { params: IdParams, response: { 200: OrderSchema, ...Errors } } },
    async (request) => {
      const customerId = callerOf(request).id
      return withTransaction(pg, (client) =>
        cancelOrder(customerId, request.params.id, {
          find: (id, customer) => findOrder(client, id, customer),
          cancel: (order) => transition(client, order.id, [order.status], 'CANCELLED'),
          announce: async (order) => {
            const cancelled = event('order.cancelled', order)
            await enqueue(client, cancelled.id, cancelled.message)
          }
        })
      )
    }
  )
}
