import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test, type TestContext } from 'node:test'
import { createRedis, whenConnected, type Redis } from '@platform/redis'
import { stack } from '@platform/testing'
import { LeasedCounter } from '../src/rate-limit-lease.ts'

async function redisClient(t: TestContext): Promise<Redis> {
  const redis = createRedis({ url: `redis://${stack.redis.host}:${stack.redis.port}`, name: 'lease-test' })
  assert.ok(await whenConnected(redis, 5000), 'Redis of the stack reachable')
  t.after(() => redis.quit())
  return redis
}

/** Counts the commands a client sends (what each request would cost in Redis round trips). */
function countCalls(redis: Redis) {
  let calls = 0
  const original = redis.rateLimitLease.bind(redis)
  redis.rateLimitLease = (...args: Parameters<typeof original>) => {
    calls++
    return original(...args)
  }
  return () => calls
}

function take(counter: LeasedCounter, key: string, windowMs: number, max: number) {
  return new Promise<{ current: number; ttl: number }>((resolve, reject) =>
    counter.incr(key, (error, result) => (error ? reject(error) : resolve(result!)), windowMs, max)
  )
}

test('a busy caller across two instances: never more than the limit, at most 1 % early, far fewer Redis calls', async (t) => {
  const namespace = `lease-test-${randomUUID()}:`
  const [r1, r2] = [await redisClient(t), await redisClient(t)]
  const a = new LeasedCounter({ redis: r1, namespace })
  const b = new LeasedCounter({ redis: r2, namespace })
  const calls = [countCalls(r1), countCalls(r2)]
  const max = 20_000
  let admitted = 0
  // 22 000 requests in bursts of 100 alternating between the instances, as NGINX spreads them.
  for (let burst = 0; burst < 220; burst++) {
    const counter = burst % 2 ? b : a
    const results = await Promise.all(Array.from({ length: 100 }, () => take(counter, 'ip:1', 60_000, max)))
    for (const r of results) {
      if (r.current <= max) admitted++
      assert.ok(r.ttl > 0 && r.ttl <= 60_000)
    }
  }
  // Never more than the limit; leases shrink to single tokens near it, so hardly any is stranded.
  assert.ok(admitted <= max && admitted >= max - 200, `admitted ${admitted} of ${max}`)
  const total = calls[0]!() + calls[1]!()
  assert.ok(total < 22_000 / 10, `${total} Redis calls for 22 000 requests`)
  // Over the limit, refusals are answered from memory until the window ends.
  const before = calls[0]!()
  for (let i = 0; i < 100; i++) assert.ok((await take(a, 'ip:1', 60_000, max)).current > max)
  assert.equal(calls[0]!(), before)
})

test('limits under 10 000 are never leased: one token per request, exact across instances; refusals stay in memory', async (t) => {
  const namespace = `lease-test-${randomUUID()}:`
  const [r1, r2] = [await redisClient(t), await redisClient(t)]
  const a = new LeasedCounter({ redis: r1, namespace })
  const b = new LeasedCounter({ redis: r2, namespace })
  const seen = []
  for (let i = 0; i < 12; i++) seen.push((await take(i % 2 ? b : a, 'user:7', 60_000, 10)).current)
  // The 11th asks Redis and is refused; b saw the count reach the limit and refuses from memory.
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11])
  assert.equal(await r1.get(`${namespace}user:7`), '11')
})

test('a quiet caller keeps leases of one; a burst of one caller is served in order by growing leases', async (t) => {
  const redis = await redisClient(t)
  const counter = new LeasedCounter({ redis, namespace: `lease-test-${randomUUID()}:`, leaseMs: 20 })
  const calls = countCalls(redis)
  for (let i = 0; i < 3; i++) {
    await take(counter, 'user:q', 60_000, 100_000)
    await new Promise((resolve) => setTimeout(resolve, 250)) // longer than 10 × leaseMs: never grows
  }
  assert.equal(calls(), 3)
  assert.equal(await redis.get(`${counter['namespace']}user:q`), '3')

  const results = await Promise.all(
    Array.from({ length: 10 }, () => take(counter, 'user:burst', 60_000, 100_000))
  )
  assert.deepEqual(
    results.map((r) => r.current),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  )
  // The first call took one token; the waiting nine were served by doubling leases (2, 4, 8).
  assert.equal(calls(), 3 + 4)
})

test('a new window starts from zero once the shared key expires', async (t) => {
  const redis = await redisClient(t)
  const counter = new LeasedCounter({ redis, namespace: `lease-test-${randomUUID()}:` })
  assert.equal((await take(counter, 'k', 1000, 2)).current, 1)
  assert.equal((await take(counter, 'k', 1000, 2)).current, 2)
  assert.ok((await take(counter, 'k', 1000, 2)).current > 2)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  assert.equal((await take(counter, 'k', 1000, 2)).current, 1)
})
