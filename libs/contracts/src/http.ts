import Type, { type Static } from 'typebox'

/** The body of every 4xx/5xx answer (the HTTP kit writes it). */
export const ErrorBodySchema = Type.Object({
  code: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$' }),
  message: Type.String(),
  requestId: Type.String(),
  details: Type.Optional(Type.Unknown())
})
export type ErrorBody = Static<typeof ErrorBodySchema>

/** Query of a cursor-paginated list. */
export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 512 }))
})

/** One page of items; `nextCursor` is absent on the last page. */
export const PageSchema = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Optional(Type.String()) })
