import type { Redis } from 'ioredis'
import { cacheMetrics, type Metrics } from '@platform/metrics'

export interface CacheOptions {
  redis: Redis
  /** Label in metrics, and the key prefix (`<name>:<key>`). */
  name: string
  ttlSeconds: number
  metrics: Metrics
  onError?: (err: Error, operation: 'get' | 'set' | 'invalidate') => void
}

export interface Cache<T> {
  /** The cached value, or `load()`'s (stored for ttlSeconds). A Redis failure is a miss, never an error. */
  get(key: string, load: () => Promise<T | undefined>): Promise<T | undefined>
  /** Removes keys after a write. Returns false when Redis could not be reached (the TTL bounds staleness). */
  invalidate(...keys: string[]): Promise<boolean>
}

/**
 * Cache-aside over Redis, shared by every instance of a service (so an invalidation holds across
 * them). Concurrent misses of one key in a process share one `load()` (single flight), so a cold
 * key doesn't stampede the database. `undefined` (not found) is never cached.
 */
export function createCache<T>(options: CacheOptions): Cache<T> {
  const { redis, name, ttlSeconds } = options
  const requests = cacheMetrics(options.metrics.registry).requests
  const onError = options.onError ?? (() => {})
  const inflight = new Map<string, Promise<T | undefined>>()
  // Bumped by invalidate(): a load that began before a write must not store what it read.
  const generation = new Map<string, number>()
  const redisKey = (key: string) => `${name}:${key}`

  async function loadAndStore(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const startedAt = generation.get(key) ?? 0
    const value = await load()
    if (value !== undefined && (generation.get(key) ?? 0) === startedAt) {
      redis
        .set(redisKey(key), JSON.stringify(value), 'EX', ttlSeconds)
        .catch((err: Error) => onError(err, 'set'))
    }
    return value
  }

  return {
    async get(key, load) {
      try {
        const cached = await redis.get(redisKey(key))
        if (cached !== null) {
          requests.inc({ cache: name, result: 'hit' })
          return JSON.parse(cached) as T
        }
        requests.inc({ cache: name, result: 'miss' })
      } catch (err) {
        requests.inc({ cache: name, result: 'error' })
        onError(err as Error, 'get')
      }
      let pending = inflight.get(key)
      if (!pending) {
        pending = loadAndStore(key, load).finally(() => inflight.delete(key))
        inflight.set(key, pending)
      }
      return pending
    },

    async invalidate(...keys) {
      for (const key of keys) generation.set(key, (generation.get(key) ?? 0) + 1)
      try {
        await redis.del(...keys.map(redisKey))
        return true
      } catch (err) {
        onError(err as Error, 'invalidate')
        return false
      }
    }
  }
}

/** A cache that always loads: for a service run with its cache switched off. */
export function noCache<T>(): Cache<T> {
  return { get: (_key, load) => load(), invalidate: async () => true }
}
