import Type, { type Static } from 'typebox'

/** The body of every 4xx/5xx answer (the HTTP kit writes it). */
export const ErrorBodySchema = Type.Object({
  code: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$' }),
  message: Type.String(),
  requestId: Type.String(),
  details: Type.Optional(Type.Unknown())
})
export type ErrorBody = Static<typeof ErrorBodySchema>

/** A page cursor as the services issue it (base64url): anything else is refused before any lookup. */
export const CursorSchema = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' })

/** Query of a cursor-paginated list. */
export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(CursorSchema)
})

/** Text a person types, such as a search: no control characters (PostgreSQL refuses a NUL byte). */
export const SearchTextSchema = (options: { description?: string } = {}) =>
  Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001F\\u007F]+$', ...options })

/** One page of items; `nextCursor` is absent on the last page. */
export const PageSchema = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Optional(Type.String()) })

/** One page of items as a client reads it. */
export interface Page<T> {
  items: T[]
  nextCursor?: string
}
