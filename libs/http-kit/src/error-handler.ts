import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isAppError, isDependencyUnavailable, UnavailableError } from '@platform/errors'

export interface ErrorBody {
  code: string
  message: string
  requestId: string
  details?: unknown
}

export function errorBody(
  request: FastifyRequest,
  code: string,
  message: string,
  details?: unknown
): ErrorBody {
  return details === undefined
    ? { code, message, requestId: request.id }
    : { code, message, requestId: request.id, details }
}

// Fastify's own client errors, renamed to stable platform codes.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_BAD_URL: 'BAD_URL'
}
const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  413: 'BODY_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS'
}

/**
 * The one error handler: schema violations → 400 VALIDATION_FAILED with the failing fields;
 * AppError → its status and code; Fastify's client errors → stable codes; a dependency that is
 * away → 503 DEPENDENCY_UNAVAILABLE with Retry-After; anything else → 500 INTERNAL_ERROR, logged
 * with the request's context. A stack, SQL or driver text never leaves.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): ErrorBody {
  if (error.validation) {
    reply.code(400)
    const details = error.validation.map((v) => ({
      in: error.validationContext,
      path: v.instancePath || '/',
      message: v.message,
      ...(v.keyword === 'additionalProperties'
        ? { property: (v.params as { additionalProperty?: string }).additionalProperty }
        : {})
    }))
    return errorBody(request, 'VALIDATION_FAILED', 'the request does not match the schema', details)
  }
  if (isAppError(error)) {
    reply.code(error.statusCode)
    if (error instanceof UnavailableError) reply.header('retry-after', String(error.retryAfterSeconds))
    // A dependency outage fails many requests the same way: one short line each, no stack.
    if (error.statusCode >= 500)
      request.log.warn({ code: error.code, reason: error.message }, 'request failed: dependency unavailable')
    return errorBody(request, error.code, error.message, error.details)
  }
  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    reply.code(status)
    const code = FASTIFY_CODES[error.code] ?? STATUS_CODES[status] ?? 'BAD_REQUEST'
    return errorBody(request, code, clientMessage(code, error))
  }
  if (isDependencyUnavailable(error)) {
    request.log.warn({ code: error.code, reason: error.message }, 'request failed: dependency unavailable')
    reply.code(503).header('retry-after', '1')
    return errorBody(request, 'DEPENDENCY_UNAVAILABLE', 'a dependency is unavailable, retry later')
  }
  request.log.error({ err: error, method: request.method, route: request.routeOptions.url }, 'request failed')
  reply.code(500)
  return errorBody(request, 'INTERNAL_ERROR', 'internal error')
}

function clientMessage(code: string, error: FastifyError): string {
  switch (code) {
    case 'BODY_TOO_LARGE':
      return 'the request body is larger than the limit'
    case 'MALFORMED_BODY':
      return 'the request body is not valid JSON'
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'unsupported content type'
    default:
      // Fastify's client error messages name the problem, not internals.
      return error.message
  }
}
