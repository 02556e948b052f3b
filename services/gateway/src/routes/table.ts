import Type from 'typebox'
import {
  DeadLetterListSchema,
  DeadLetterQuerySchema,
  DeadLetterSchema,
  ErrorBodySchema,
  FeedPositionSchema,
  NotificationSchema,
  OrderSchema,
  PageQuerySchema,
  PageSchema,
  SearchTextSchema,
  PlaceOrderSchema,
  ProductInputSchema,
  ProductPatchSchema,
  ProductSchema,
  OverviewSchema,
  TokenRequestSchema,
  TokenSchema
} from '@platform/contracts'
import type { Operation } from '../openapi.ts'

export type Upstream = 'catalog' | 'order' | 'notification'

/** One public endpoint of a service: the operation it documents, and where the gateway sends it. */
export interface Route extends Operation {
  /** The service it goes to (a client of that name must exist). */
  upstream: string
  /** The service's path; `:name` parameters are taken from the public path. */
  target: string
}

const Id = Type.Object({ id: Type.String({ format: 'uuid' }) })
const IfMatch = Type.Object({ 'if-match': Type.String({ description: 'the product version (its ETag)' }) })
const ProductList = Type.Object(
  {
    ...PageQuerySchema.properties,
    q: Type.Optional(SearchTextSchema({ description: 'search in names' })),
    active: Type.Optional(Type.Boolean()),
    sort: Type.Optional(Type.Union([Type.Literal('name'), Type.Literal('price')]))
  },
  { additionalProperties: false }
)
/** Error answers an operation has besides those of its kind (openapi.ts adds those). */
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { description: 'error', schema: ErrorBodySchema }]))

/**
 * The gateway's whole public surface. Only what is listed here is reachable from outside; the
 * services' internal endpoints (the catalog's batch lookup, health, metrics) are not.
 */
export const ROUTES: Route[] = [
  {
    method: 'GET',
    path: '/products',
    upstream: 'catalog',
    target: '/products',
    access: 'public',
    summary: 'List products (cursor pagination, search, sort)',
    tag: 'products',
    querystring: ProductList,
    responses: { 200: { description: 'a page', schema: PageSchema(ProductSchema) }, ...errors(400, 429, 503) }
  },
  {
    method: 'GET',
    path: '/products/:id',
    upstream: 'catalog',
    target: '/products/:id',
    access: 'public',
    summary: 'Get a product (ETag)',
    tag: 'products',
    params: Id,
    responses: { 200: { description: 'the product', schema: ProductSchema }, ...errors(400, 404, 429, 503) }
  },
  {
    method: 'POST',
    path: '/products',
    upstream: 'catalog',
    target: '/products',
    access: 'admin',
    summary: 'Create a product (admin)',
    tag: 'products',
    body: ProductInputSchema,
    responses: {
      201: { description: 'created', schema: ProductSchema },
      ...errors(400, 401, 403, 409, 429, 503)
    }
  },
  {
    method: 'PUT',
    path: '/products/:id',
    upstream: 'catalog',
    target: '/products/:id',
    access: 'admin',
    summary: 'Replace a product (admin, If-Match)',
    tag: 'products',
    params: Id,
    headers: IfMatch,
    body: ProductInputSchema,
    responses: {
      200: { description: 'updated', schema: ProductSchema },
      ...errors(400, 401, 403, 404, 412, 428, 429, 503)
    }
  },
  {
    method: 'PATCH',
    path: '/products/:id',
    upstream: 'catalog',
    target: '/products/:id',
    access: 'admin',
    summary: 'Change some fields of a product (admin, If-Match)',
    tag: 'products',
    params: Id,
    headers: IfMatch,
    body: ProductPatchSchema,
    responses: {
      200: { description: 'updated', schema: ProductSchema },
      ...errors(400, 401, 403, 404, 412, 428, 429, 503)
    }
  },
  {
    method: 'DELETE',
    path: '/products/:id',
    upstream: 'catalog',
    target: '/products/:id',
    access: 'admin',
    summary: 'Delete a product (admin, If-Match)',
    tag: 'products',
    params: Id,
    headers: IfMatch,
    responses: { 204: { description: 'deleted' }, ...errors(401, 403, 404, 412, 428, 429, 503) }
  },
  {
    method: 'POST',
    path: '/orders',
    upstream: 'order',
    target: '/orders',
    access: 'user',
    summary: 'Place an order (Idempotency-Key required)',
    tag: 'orders',
    headers: Type.Object({
      'idempotency-key': Type.String({ minLength: 1, maxLength: 200, description: 'kept 24 h' })
    }),
    body: PlaceOrderSchema,
    responses: {
      201: { description: 'placed: PENDING until the stock is reserved', schema: OrderSchema },
      200: { description: 'the same key and body again: the first answer', schema: OrderSchema },
      ...errors(400, 401, 422, 429, 503)
    }
  },
  {
    method: 'GET',
    path: '/orders',
    upstream: 'order',
    target: '/orders',
    access: 'user',
    summary: 'The caller’s orders, newest first',
    tag: 'orders',
    querystring: Type.Object(PageQuerySchema.properties, { additionalProperties: false }),
    responses: {
      200: { description: 'a page', schema: PageSchema(OrderSchema) },
      ...errors(400, 401, 429, 503)
    }
  },
  {
    method: 'GET',
    path: '/orders/:id',
    upstream: 'order',
    target: '/orders/:id',
    access: 'user',
    summary: 'One of the caller’s orders',
    tag: 'orders',
    params: Id,
    responses: { 200: { description: 'the order', schema: OrderSchema }, ...errors(400, 401, 404, 429, 503) }
  },
  {
    method: 'POST',
    path: '/orders/:id/cancel',
    upstream: 'order',
    target: '/orders/:id/cancel',
    access: 'user',
    summary: 'Cancel a PENDING or CONFIRMED order',
    tag: 'orders',
    params: Id,
    responses: { 200: { description: 'cancelled', schema: OrderSchema }, ...errors(401, 404, 409, 429, 503) }
  },
  {
    method: 'GET',
    path: '/notifications',
    upstream: 'notification',
    target: '/notifications',
    access: 'user',
    summary: 'The caller’s notifications, newest first',
    tag: 'notifications',
    querystring: Type.Object(PageQuerySchema.properties, { additionalProperties: false }),
    responses: {
      200: { description: 'a page', schema: PageSchema(NotificationSchema) },
      ...errors(400, 401, 429, 503)
    }
  },
  {
    method: 'GET',
    path: '/notifications/stream',
    upstream: 'notification',
    target: '/notifications/stream',
    access: 'user',
    stream: true,
    summary: 'New notifications as Server-Sent Events (reconnect with Last-Event-ID to replay)',
    tag: 'notifications',
    querystring: Type.Object(
      { lastEventId: Type.Optional(FeedPositionSchema) },
      { additionalProperties: false, description: 'lastEventId: for clients that can’t set the header' }
    ),
    headers: Type.Object({ 'last-event-id': Type.Optional(FeedPositionSchema) }),
    responses: {
      200: { description: 'text/event-stream: `event: notification`, `id: <seq>`, `data: <notification>`' },
      ...errors(400, 401, 429, 503)
    }
  }
]

const Letter = Type.Object({
  dlq: Type.String(),
  partition: Type.Integer({ minimum: 0 }),
  offset: Type.String({ pattern: '^[0-9]{1,19}$' })
})

/** The admin routes to a consuming service's dead letters (its own admin API, libs/messaging). */
export function deadLetterRoutes(service: string): Route[] {
  return [
    {
      method: 'GET',
      path: `/admin/services/${service}/dead-letters`,
      upstream: service,
      target: '/admin/dead-letters',
      access: 'admin',
      summary: `The dead letters of ${service}'s consumers, newest first (admin)`,
      tag: 'admin',
      querystring: DeadLetterQuerySchema,
      responses: {
        200: { description: 'its letters, replayed or not', schema: DeadLetterListSchema },
        ...errors(400, 401, 403, 429, 503)
      }
    },
    {
      method: 'POST',
      path: `/admin/services/${service}/dead-letters/:dlq/:partition/:offset/replay`,
      upstream: service,
      target: '/admin/dead-letters/:dlq/:partition/:offset/replay',
      access: 'admin',
      summary: `Put one of ${service}'s dead letters back on its topic (admin; idempotent)`,
      tag: 'admin',
      params: Letter,
      responses: {
        200: { description: 'replayed', schema: DeadLetterSchema },
        ...errors(400, 401, 403, 404, 429, 503)
      }
    }
  ]
}

/** The sign-in of the development issuer: answered by the gateway (404 unless it is configured). */
export const TOKEN_OPERATION: Operation = {
  method: 'POST',
  path: '/auth/token',
  access: 'public',
  summary: 'A token for a demo user (development issuer: off unless configured)',
  tag: 'auth',
  body: TokenRequestSchema,
  responses: { 200: { description: 'a bearer token', schema: TokenSchema }, ...errors(401, 404) }
}

/** The operations console's picture of the platform: answered by the gateway. */
export const OVERVIEW_OPERATION: Operation = {
  method: 'GET',
  path: '/admin/overview',
  access: 'admin',
  summary: 'Services, instances, golden signals, breakers, lag, outbox, alerts (admin)',
  tag: 'admin',
  responses: { 200: { description: 'the platform now', schema: OverviewSchema } }
}

/** Every documented operation, the dead-letter routes of these consuming services among them. */
export function operations(consumers: string[]): Operation[] {
  return [TOKEN_OPERATION, ...ROUTES, OVERVIEW_OPERATION, ...consumers.flatMap(deadLetterRoutes)]
}
