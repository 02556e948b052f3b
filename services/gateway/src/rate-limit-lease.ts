import type { Redis } from '@platform/redis'

type Result = { current: number; ttl: number }
type Callback = (error: Error | null, result?: Result) => void

/** What this instance knows of one caller's count in the current window. */
interface Caller {
  /** Tokens this instance holds: ranges of places in the window's count, in the order granted. */
  ranges: Array<[next: number, last: number]>
  /** When the shared window ends (the Redis key's expiry, seen from here). */
  expiresAt: number
  /** The shared count reached the limit: nothing more is granted anywhere in this window. */
  exhausted: boolean
  /** Size of the last lease asked for, and when; the window's count as Redis last told it. */
  size: number
  askedAt: number
  counted: number
  /** Tokens asked for and not answered yet; requests waiting for them, in arrival order. */
  requested: number
  waiting: Callback[]
}

// Takes `size` tokens of a caller's count in one step and tells how many the window has handed out.
const LUA = `
local size = tonumber(ARGV[1])
local current = redis.call('INCRBY', KEYS[1], size)
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {current, ttl}
`

declare module 'ioredis' {
  interface RedisCommander {
    rateLimitLease(key: string, size: number, windowMs: number): Promise<[number, number]>
  }
}

export interface LeasedCounterOptions {
  redis: Redis
  namespace: string
  /** Most of a caller's limit one instance may hold at once. Default 1 %. */
  maxShare?: number
  /** Limits below this are counted exactly, one token per call (default 10 000 per window). */
  leaseFrom?: number
  /** A lease used up faster than this doubles the next one; one that lasts 10× longer halves it. */
  leaseMs?: number
  /** Callers remembered at most (beyond it, those holding nothing are forgotten). */
  maxCallers?: number
}

/**
 * A fixed-window counter in Redis, shared by every gateway instance, that a busy caller does not
 * pay one Redis round trip per request for. Each instance takes a caller's tokens in leases: one at
 * a time for a quiet caller (exactly the classic INCR per request), more while that caller's leases
 * run out within `leaseMs` (doubling, up to `maxShare` of the limit); concurrent requests ask for
 * what they lack, several leases in flight at once, and are answered in arrival order. A caller
 * over the limit is refused from memory until the window ends: a flood costs Redis nothing.
 *
 * Guarantees: a window never admits more than the limit across all instances (every token comes
 * out of one atomic INCRBY). Limits under `leaseFrom` (10 000 per window) are counted exactly, one
 * token per call, like a per-user limit of 600 a minute. Above it a caller may be refused early by
 * the tokens other instances still hold — at most `maxShare` of the limit each, and leases shrink
 * to single tokens as the count nears the limit, so few are left over.
 * What it saves against one Redis call per request: bench/README.md.
 */
export class LeasedCounter {
  private readonly callers = new Map<string, Caller>()
  private readonly redis: Redis
  private readonly namespace: string
  private readonly maxShare: number
  private readonly leaseFrom: number
  private readonly leaseMs: number
  private readonly maxCallers: number

  constructor(options: LeasedCounterOptions) {
    this.redis = options.redis
    this.namespace = options.namespace
    this.maxShare = options.maxShare ?? 0.01
    this.leaseFrom = options.leaseFrom ?? 10_000
    this.leaseMs = options.leaseMs ?? 100
    this.maxCallers = options.maxCallers ?? 100_000
    if (!this.redis.rateLimitLease) this.redis.defineCommand('rateLimitLease', { numberOfKeys: 1, lua: LUA })
  }

  /** The `incr` of @fastify/rate-limit's store: `current` is this request's place in the window. */
  incr(key: string, callback: Callback, windowMs: number, max: number): void {
    const now = Date.now()
    let caller = this.callers.get(key)
    if (caller && caller.requested === 0 && now >= caller.expiresAt) {
      caller.ranges.length = 0 // the window is over: what was left of it is void
      caller.exhausted = false
      caller.counted = 0
    }
    if (caller && caller.waiting.length === 0 && this.serve(caller, callback, max, now)) return
    if (!caller) {
      if (this.callers.size >= this.maxCallers) this.forgetIdle(now)
      caller = {
        ranges: [],
        expiresAt: 0,
        exhausted: false,
        size: 0,
        askedAt: 0,
        counted: 0,
        requested: 0,
        waiting: []
      }
      this.callers.set(key, caller)
    }
    caller.waiting.push(callback)
    if (caller.requested < caller.waiting.length) this.ask(key, caller, windowMs, max, now)
  }

  /** Answers from what this instance holds; false when it must ask Redis. */
  private serve(caller: Caller, callback: Callback, max: number, now: number): boolean {
    const ttl = caller.expiresAt - now
    const range = caller.ranges[0]
    if (range && ttl > 0) {
      const current = range[0]++
      if (range[0] > range[1]) caller.ranges.shift()
      callback(null, { current, ttl })
      return true
    }
    if (caller.exhausted && ttl > 0) {
      callback(null, { current: max + 1, ttl })
      return true
    }
    return false
  }

  private leaseSize(caller: Caller, max: number, now: number): number {
    if (max < this.leaseFrom) return 1
    // Leases shrink as the window fills, so the last tokens go one at a time and few are left
    // stranded on an instance when the others reach the limit.
    const cap = Math.max(
      1,
      Math.min(Math.floor(max * this.maxShare), Math.floor((max - caller.counted) / 16))
    )
    const since = now - caller.askedAt
    const size =
      caller.size === 0
        ? 1
        : since < this.leaseMs
          ? caller.size * 2
          : since > this.leaseMs * 10
            ? Math.floor(caller.size / 2)
            : caller.size
    return Math.max(1, Math.min(size, cap))
  }

  private ask(key: string, caller: Caller, windowMs: number, max: number, now: number) {
    const size = this.leaseSize(caller, max, now)
    caller.size = size
    caller.askedAt = now
    caller.requested += size
    this.redis.rateLimitLease(this.namespace + key, size, windowMs).then(
      ([current, ttl]) => {
        caller.requested -= size
        // One connection answers in order: a key this call created starts a new window.
        if (current === size) {
          caller.ranges.length = 0
          caller.exhausted = false
        }
        caller.counted = current
        const first = current - size + 1
        if (first <= max) caller.ranges.push([first, Math.min(current, max)])
        if (current >= max) caller.exhausted = true
        // From when the lease was asked for: it ends no later than the shared window does.
        caller.expiresAt = now + ttl
        const at = Date.now()
        while (caller.waiting.length > 0 && this.serve(caller, caller.waiting[0]!, max, at))
          caller.waiting.shift()
        if (caller.waiting.length > caller.requested) this.ask(key, caller, windowMs, max, at)
      },
      (error: Error) => {
        caller.requested -= size
        // Redis failed: the waiting requests go to the fallback (one error each).
        for (const waiter of caller.waiting.splice(0)) waiter(error)
      }
    )
  }

  /** Forgets callers this instance holds no tokens for and waits on nothing for. */
  private forgetIdle(now: number) {
    for (const [key, caller] of this.callers) {
      if (caller.requested > 0) continue
      if (now >= caller.expiresAt || (caller.ranges.length === 0 && !caller.exhausted))
        this.callers.delete(key)
    }
  }
}
