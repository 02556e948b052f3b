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

export interface RetryBudgetOptions {
  /** Retries allowed as a share of the calls made over the window. Default 0.1 (10 %). */
  ratio?: number
  /** Retries allowed per second whatever the traffic, so a quiet client can still retry. Default 5. */
  minPerSecond?: number
  /** The window calls and retries are counted over. Default 10 s. */
  windowMs?: number
  now?: () => number
}

export interface RetryBudget {
  /** Counts a call (its first attempt). */
  recordCall(): void
  /** Takes one retry from the budget: false when it is spent (the call must not be retried). */
  tryRetry(): boolean
}

/**
 * A client's retry budget: retries stay under `ratio` of its calls over the last `windowMs` (plus
 * `minPerSecond`), so an upstream in trouble sees at most (1 + ratio)× its normal load from
 * retries, never a multiple of it (the retry throttling of gRPC and Finagle works the same way).
 */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const ratio = options.ratio ?? 0.1
  const windowMs = options.windowMs ?? 10_000
  const floor = ((options.minPerSecond ?? 5) * windowMs) / 1000
  const now = options.now ?? Date.now
  const BUCKETS = 10
  const bucketMs = windowMs / BUCKETS
  const calls = new Array<number>(BUCKETS).fill(0)
  const retries = new Array<number>(BUCKETS).fill(0)
  let current = Math.floor(now() / bucketMs)

  // Moves to the bucket of the present, emptying those the window left behind.
  function slot(): number {
    const bucket = Math.floor(now() / bucketMs)
    for (let b = Math.max(current + 1, bucket - BUCKETS + 1); b <= bucket; b++) {
      calls[b % BUCKETS] = 0
      retries[b % BUCKETS] = 0
    }
    current = Math.max(current, bucket)
    return current % BUCKETS
  }
  const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0)

  return {
    recordCall() {
      calls[slot()]!++
    },
    tryRetry() {
      const i = slot()
      if (sum(retries) >= floor + ratio * sum(calls)) return false
      retries[i]!++
      return true
    }
  }
}
