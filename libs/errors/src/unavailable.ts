// A dependency that is away rather than a bug: the network's own errors, and the SQLSTATE classes
// of a database that can't serve now (08 connection exception, 53 insufficient resources, 57P
// operator intervention: a restart or shutdown in progress). The HTTP kit answers them 503 with
// Retry-After; consumers retry them for as long as it takes instead of dead-lettering the event.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN'
])
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/
// What the pg client says when its connection dies or the pool can't get one in time.
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/

/** Whether `error` says a dependency (a database, a server on the network) is away for now. */
export function isDependencyUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, message } = error as { code?: unknown; message?: unknown }
  const text = typeof code === 'string' ? code : ''
  return (
    UNAVAILABLE_CODES.has(text) ||
    (text.length === 5 && UNAVAILABLE_SQLSTATE.test(text)) ||
    (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message))
  )
}
