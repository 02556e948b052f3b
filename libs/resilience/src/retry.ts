const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])

/** Methods safe to repeat (RFC 9110 §9.2.2). POST only with an idempotency key: pass `idempotent: true`. */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase())
}

/** Exponential backoff with full jitter: uniform in [0, min(maxMs, baseMs · 2^attempt)). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random
): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt))
}
