export interface AppErrorOptions {
  details?: unknown
  cause?: unknown
}

const CODE = /^[A-Z][A-Z0-9_]*$/ // SCREAMING_SNAKE, e.g. ORDER_NOT_FOUND

/**
 * An error domain code throws to say what went wrong in terms a client can act on: an HTTP status
 * and a stable code (`ORDER_NOT_FOUND`). The HTTP kit answers it as `{ code, message, details }`;
 * any other error becomes a 500 whose message is never shown.
 */
export class AppError extends Error {
  readonly statusCode: number
  readonly code: string
  readonly details: unknown

  constructor(statusCode: number, code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    if (!CODE.test(code)) throw new TypeError(`error code must be SCREAMING_SNAKE_CASE, got "${code}"`)
    if (statusCode < 400 || statusCode > 599)
      throw new RangeError(`statusCode must be 4xx or 5xx, got ${statusCode}`)
    this.name = new.target.name
    this.statusCode = statusCode
    this.code = code
    this.details = options.details
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(404, code, message)
  }
}

/** A dependency can't serve now (open breaker, timeout, overload): 503 with Retry-After. */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds: number

  constructor(code: string, message: string, retryAfterSeconds: number, options: AppErrorOptions = {}) {
    super(503, code, message, options)
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds))
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError
}
