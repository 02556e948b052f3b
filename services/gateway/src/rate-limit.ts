import rateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit'
import LocalStore from '@fastify/rate-limit/store/LocalStore.js'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '@platform/errors'
import type { Redis } from '@platform/redis'
import { LeasedCounter } from './rate-limit-lease.ts'

export interface RateLimitOptions {
  redis: Redis
  /** Requests per window per user (per client IP when anonymous), across all gateway instances. */
  max: number
  windowMs: number
  /** Redis key prefix: gateways with the same one share their counts. */
  namespace: string
  /** Called when the limiter falls back to, or returns from, local counting. */
  onFallback: (local: boolean) => void
}

/**
 * Counts shared by every gateway instance in Redis (a busy caller's tokens taken in leases, see
 * LeasedCounter), with @fastify/rate-limit's local store behind them: while Redis is unreachable
 * each instance counts on its own (so a client may get up to `max` × instances), and Redis takes
 * over again when it is back. One key space for every route: the limit is per caller, not per route.
 */
function fallbackStore(redis: Redis, namespace: string, onFallback: (local: boolean) => void) {
  const shared = new LeasedCounter({ redis, namespace })
  const local = new LocalStore(false, false, 10_000)
  let usingLocal = false
  const use = (isLocal: boolean) => {
    if (isLocal !== usingLocal) onFallback((usingLocal = isLocal))
  }
  const store: FastifyRateLimitStore = {
    incr(key, callback, timeWindow, max) {
      if (redis.status !== 'ready') {
        use(true)
        local.incr(key, callback, timeWindow, max)
        return
      }
      shared.incr(
        key,
        (err, result) => {
          if (!err) {
            use(false)
            callback(null, result)
            return
          }
          use(true)
          local.incr(key, callback, timeWindow, max)
        },
        timeWindow,
        max
      )
    },
    child: () => store
  }
  return class {
    constructor() {
      return store
    }
  } as unknown as new () => FastifyRateLimitStore
}

/** The caller's key: the authenticated user, else the client address (as NGINX forwarded it). */
function keyOf(request: FastifyRequest): string {
  return request.principal ? `user:${request.principal.id}` : `ip:${request.ip}`
}

export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler', // after authentication, so a user is counted as the user
    max: options.max,
    timeWindow: options.windowMs,
    store: fallbackStore(options.redis, options.namespace, options.onFallback),
    keyGenerator: keyOf,
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'RATE_LIMITED', `too many requests; retry in ${context.after}`)
  })
}
