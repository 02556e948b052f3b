import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import Type from 'typebox'
import { AppError, NotFoundError } from '@platform/errors'
import {
  CursorSchema,
  ErrorBodySchema,
  ProductBatchRequestSchema,
  ProductBatchSchema,
  SearchTextSchema
} from '@platform/contracts'
import { requireRole } from '@platform/http-kit'
import type { Cache } from '@platform/redis'
import {
  ProductInputSchema,
  ProductPatchSchema,
  ProductSchema,
  type Product,
  type ProductPatch
} from '../domain/product.ts'
import {
  deleteProduct,
  findProduct,
  findProducts,
  insertProduct,
  listProducts,
  updateProduct
} from '../adapters/products-repository.ts'

export interface ProductRoutesOptions {
  cache: Cache<Product>
}

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
const Errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema }
const WriteErrors = {
  ...Errors,
  409: ErrorBodySchema,
  412: ErrorBodySchema,
  413: ErrorBodySchema,
  428: ErrorBodySchema
}
const IfMatch = Type.Object({ 'if-match': Type.Optional(Type.String()) })

const etag = (p: Product) => `"${p.version}"`

/** The version an `If-Match` header asks for; writes need one (428 without, 412 when stale). */
function expectedVersion(header: string | undefined): number {
  if (!header)
    throw new AppError(428, 'PRECONDITION_REQUIRED', 'send If-Match with the product version (its ETag)')
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim()) // "3", 3 or W/"3"
  if (!match) throw new AppError(412, 'VERSION_MISMATCH', 'If-Match does not name a version of this product')
  return Number(match[1])
}

function outcome(result: Product | 'not_found' | 'version_mismatch'): Product {
  if (result === 'not_found') throw new NotFoundError('PRODUCT_NOT_FOUND', 'no such product')
  if (result === 'version_mismatch')
    throw new AppError(412, 'VERSION_MISMATCH', 'the product changed since that version')
  return result
}

export const productRoutes: FastifyPluginAsyncTypebox<ProductRoutesOptions> = async (app, { cache }) => {
  const pg = app.pg

  app.get(
    '/products',
    {
      schema: {
        querystring: Type.Object(
          {
            limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
            cursor: Type.Optional(CursorSchema),
            q: Type.Optional(SearchTextSchema()),
            active: Type.Optional(Type.Boolean()),
            sort: Type.Union([Type.Literal('name'), Type.Literal('price')], { default: 'name' })
          },
          { additionalProperties: false }
        ),
        response: {
          200: Type.Object({ items: Type.Array(ProductSchema), nextCursor: Type.Optional(Type.String()) }),
          ...Errors
        }
      }
    },
    async (request) => listProducts(pg, request.query)
  )

  app.get(
    '/products/:id',
    { schema: { params: IdParams, response: { 200: ProductSchema, ...Errors } } },
    async (request, reply) => {
      const product = await cache.get(request.params.id, () => findProduct(pg, request.params.id))
      if (!product) throw new NotFoundError('PRODUCT_NOT_FOUND', 'no such product')
      reply.header('etag', etag(product))
      return product
    }
  )

  // The order service prices a basket with one call.
  app.post(
    '/products/batch',
    {
      schema: {
        body: ProductBatchRequestSchema,
        response: {
          200: ProductBatchSchema,
          ...Errors
        }
      }
    },
    async (request) => {
      const items = await findProducts(pg, request.body.ids)
      const found = new Set(items.map((p) => p.id))
      return { items, missing: request.body.ids.filter((id) => !found.has(id)) }
    }
  )

  app.post(
    '/products',
    { schema: { body: ProductInputSchema, response: { 201: ProductSchema, ...WriteErrors } } },
    async (request, reply) => {
      requireRole(request, 'admin')
      const product = await insertProduct(pg, randomUUID(), request.body)
      reply.code(201).header('location', `/products/${product.id}`).header('etag', etag(product))
      return product
    }
  )

  // PUT replaces every field, PATCH some: the same versioned write once the body is validated.
  const update = async (request: FastifyRequest, id: string, changes: ProductPatch, reply: FastifyReply) => {
    requireRole(request, 'admin')
    const version = expectedVersion(request.headers['if-match'])
    const product = outcome(await updateProduct(pg, id, version, changes))
    await cache.invalidate(product.id)
    reply.header('etag', etag(product))
    return product
  }

  app.put(
    '/products/:id',
    {
      schema: {
        params: IdParams,
        headers: IfMatch,
        body: ProductInputSchema,
        response: { 200: ProductSchema, ...WriteErrors }
      }
    },
    (request, reply) => update(request, request.params.id, request.body, reply)
  )

  app.patch(
    '/products/:id',
    {
      schema: {
        params: IdParams,
        headers: IfMatch,
        body: ProductPatchSchema,
        response: { 200: ProductSchema, ...WriteErrors }
      }
    },
    (request, reply) => update(request, request.params.id, request.body, reply)
  )

  app.delete(
    '/products/:id',
    { schema: { params: IdParams, headers: IfMatch, response: { 204: Type.Null(), ...WriteErrors } } },
    async (request, reply) => {
      requireRole(request, 'admin')
      const version = expectedVersion(request.headers['if-match'])
      const result = await deleteProduct(pg, request.params.id, version)
      if (result !== 'deleted') outcome(result)
      await cache.invalidate(request.params.id)
      return reply.code(204).send(null)
    }
  )
}
