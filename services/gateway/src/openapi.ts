// The OpenAPI document of the public API, built from the route table and the contracts: the gateway
// serves it at /api/docs, and `npm run generate` commits it (libs/contracts/generated/openapi.json)
// where the breaking-change check and the conformance test read it.
import type { TSchema } from 'typebox'
import {
  API_VERSION,
  DeadLetterListSchema,
  DeadLetterSchema,
  ErrorBodySchema,
  NotificationSchema,
  OrderSchema,
  OverviewSchema,
  PlaceOrderSchema,
  ProductInputSchema,
  ProductPatchSchema,
  ProductSchema,
  TokenRequestSchema,
  TokenSchema
} from '@platform/contracts'
import type { Access } from './auth/authenticate.ts'

/** One documented operation: a route of the table, or one the gateway answers itself. */
export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Public path, below /api/v1, with `:name` parameters. */
  path: string
  access: Access
  /** Server-Sent Events. */
  stream?: boolean
  summary: string
  tag: 'auth' | 'products' | 'orders' | 'notifications' | 'admin'
  params?: TSchema
  querystring?: TSchema
  headers?: TSchema
  body?: TSchema
  /** Its own answers; the errors every operation of its kind can get are added (see {@link statusesOf}). */
  responses: Record<number, { description: string; schema?: TSchema }>
}

/** The schemas named in the document (referenced, not repeated). */
const COMPONENTS: Record<string, TSchema> = {
  Product: ProductSchema,
  ProductInput: ProductInputSchema,
  ProductPatch: ProductPatchSchema,
  Order: OrderSchema,
  PlaceOrder: PlaceOrderSchema,
  Notification: NotificationSchema,
  TokenRequest: TokenRequestSchema,
  Token: TokenSchema,
  Overview: OverviewSchema,
  DeadLetter: DeadLetterSchema,
  DeadLetterList: DeadLetterListSchema,
  ErrorBody: ErrorBodySchema
}

/** Every error answer: its name in components.responses and what it means. */
const ERRORS: Record<number, [name: string, description: string]> = {
  400: ['BadRequest', 'invalid request: `VALIDATION_FAILED` lists the failing fields in `details`'],
  401: ['Unauthorized', 'missing or invalid bearer token'],
  403: ['Forbidden', 'the admin role is required'],
  404: ['NotFound', 'not found (or not the caller’s)'],
  405: ['MethodNotAllowed', 'the path exists, not with this method: see `Allow`'],
  409: ['Conflict', 'illegal state transition, or a unique field already taken'],
  412: ['PreconditionFailed', 'the version in If-Match is not the current one'],
  413: ['PayloadTooLarge', 'the body is larger than the edge or the service accepts'],
  414: ['UriTooLong', 'the request line is longer than the edge accepts (4 KiB)'],
  415: ['UnsupportedMediaType', 'the body is not `application/json`'],
  422: ['Unprocessable', 'the request can’t be applied (unknown products, key reused with another body…)'],
  428: ['PreconditionRequired', 'If-Match is required'],
  429: ['TooManyRequests', 'rate limit exceeded; retry after `Retry-After`'],
  431: ['HeadersTooLarge', 'a request header is larger than the edge accepts (4 KiB)'],
  503: ['Unavailable', 'a service is unavailable; retry after `Retry-After`']
}
const RETRY_AFTER = new Set([429, 503])

/**
 * The statuses an operation can answer: its own, and those of its kind — any request can be
 * rate-limited, shed or too long for the edge; one with input can be invalid; one with a body can
 * be too large or not JSON; one that needs a token can lack it; an admin one needs the role.
 */
export function statusesOf(op: Operation): number[] {
  const input = op.params || op.querystring || op.headers || op.body
  const codes = new Set([
    ...Object.keys(op.responses).map(Number),
    414,
    429,
    431,
    503,
    ...(input ? [400] : []),
    ...(op.body ? [400, 413, 415] : []),
    ...(op.access !== 'public' ? [401] : []),
    ...(op.access === 'admin' ? [403] : [])
  ])
  return [...codes].sort((a, b) => a - b)
}

/** A schema as JSON, the named ones replaced by references (but not the named one itself). */
function json(schema: unknown, self?: TSchema): unknown {
  if (schema === null || typeof schema !== 'object') return schema
  if (schema !== self) {
    const name = Object.keys(COMPONENTS).find((n) => COMPONENTS[n] === schema)
    if (name) return { $ref: `#/components/schemas/${name}` }
  }
  if (Array.isArray(schema)) return schema.map((s) => json(s))
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, json(v)]))
}

interface ObjectSchema {
  properties: Record<string, TSchema & { description?: string }>
  required?: string[]
}

function parameters(where: 'path' | 'query' | 'header', schema: TSchema | undefined) {
  if (!schema) return []
  const { properties, required = [] } = schema as unknown as ObjectSchema
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = json(s) as Record<string, unknown>
    return {
      name,
      in: where,
      required: where === 'path' || required.includes(name),
      ...(description ? { description } : {}),
      schema: rest
    }
  })
}

function success(status: number, r: Operation['responses'][number], op: Operation) {
  if (!r.schema) {
    return op.stream
      ? {
          description: r.description,
          content: { 'text/event-stream': { schema: { type: 'string' } } }
        }
      : { description: r.description }
  }
  return { description: r.description, content: { 'application/json': { schema: json(r.schema) } } }
}

function operation(op: Operation) {
  const responses: Record<string, unknown> = {}
  for (const status of statusesOf(op)) {
    const own = op.responses[status]
    responses[String(status)] =
      status < 400 && own
        ? success(status, own, op)
        : { $ref: `#/components/responses/${ERRORS[status]?.[0] ?? 'Error'}` }
  }
  const params = [
    ...parameters('path', op.params),
    ...parameters('query', op.querystring),
    ...parameters('header', op.headers)
  ]
  return {
    operationId: operationId(op),
    summary: op.summary,
    tags: [op.tag],
    ...(op.access === 'public' ? {} : { security: [{ bearer: [] }] }),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(op.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: json(op.body) } } } }
      : {}),
    responses
  }
}

/** `GET /orders/:id/cancel` → `getOrdersIdCancel`: stable, and unique per method and path. */
function operationId(op: Operation): string {
  const words = op.path
    .split('/')
    .filter(Boolean)
    .map((w) =>
      w.replace(/^:/, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())
    )
  return op.method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')
}

/** The document of these operations under `prefix` (OpenAPI 3.1). */
export function openApiDocument(operations: Operation[], prefix: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of operations) {
    const path = prefix + op.path.replace(/:([A-Za-z]+)/g, '{$1}')
    ;(paths[path] ??= {})[op.method.toLowerCase()] = operation(op)
  }
  const used = new Set(operations.flatMap(statusesOf).filter((s) => s >= 400))
  return {
    openapi: '3.1.0',
    info: {
      title: 'Platform API',
      version: API_VERSION,
      description:
        'The public API, through the edge. Authenticate with `Authorization: Bearer <token>`. Every error is JSON: `{ code, message, requestId }` with a stable `code`.'
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'auth', description: 'tokens of the development issuer' },
      { name: 'products', description: 'the catalog' },
      { name: 'orders', description: 'the caller’s orders' },
      { name: 'notifications', description: 'what happened to the caller’s orders' },
      { name: 'admin', description: 'the operations console' }
    ],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([name, s]) => [name, json(s, s)])),
      responses: Object.fromEntries(
        [...used]
          .sort((a, b) => a - b)
          .map((status) => {
            const [name, description] = ERRORS[status] ?? ['Error', 'error']
            return [
              name,
              {
                description,
                ...(RETRY_AFTER.has(status)
                  ? { headers: { 'Retry-After': { description: 'seconds', schema: { type: 'integer' } } } }
                  : {}),
                content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } }
              }
            ]
          })
      )
    }
  }
}
