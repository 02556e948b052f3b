import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import Fastify from 'fastify'
import { httpKit, serverOptions } from '@platform/http-kit'
import { createMetrics, readSample, type Metrics } from '@platform/metrics'
import { eventually, stack } from '@platform/testing'
import { checkRedis, createCache, createRedis, redis, whenConnected } from '../src/index.ts'

const url = `redis://${stack.redis.host}:${stack.redis.port}`
const deadUrl = 'redis://127.0.0.1:1'

async function requests(metrics: Metrics, cache: string, result: string) {
  return readSample(await metrics.registry.metrics(), 'cache_requests_total', { cache, result }) ?? 0
}

test('cache-aside: a miss loads and stores with the TTL, the next read is a hit', async (t) => {
  const client = createRedis({ url })
  t.after(() => client.quit())
  assert.equal(await whenConnected(client, 2000), true)
  const metrics = createMetrics({ service: 'test', processMetrics: false })
  const name = `products-${randomUUID()}`
  const cache = createCache<{ sku: string }>({ redis: client, name, ttlSeconds: 30, metrics })
  let loads = 0
  const load = async () => {
    loads++
    return { sku: 'A-1' }
  }

  assert.deepEqual(await cache.get('1', load), { sku: 'A-1' })
  // get() does not wait for the store: wait until Redis has it.
  await eventually(2000, 'value stored', async () =>
    (await client.exists(`${name}:1`)) === 1 ? true : undefined
  )
  assert.deepEqual(await cache.get('1', load), { sku: 'A-1' })

  assert.equal(loads, 1)
  assert.ok((await client.ttl(`${name}:1`)) > 25)
  assert.equal(await requests(metrics, name, 'miss'), 1)
  assert.equal(await requests(metrics, name, 'hit'), 1)
})

test('concurrent misses of one key share one load (single flight)', async (t) => {
  const client = createRedis({ url })
  t.after(() => client.quit())
  assert.equal(await whenConnected(client, 2000), true)
  const cache = createCache<number>({
    redis: client,
    name: `sf-${randomUUID()}`,
    ttlSeconds: 30,
    metrics: createMetrics({ service: 't', processMetrics: false })
  })
  let loads = 0
  const load = async () => {
    loads++
    await new Promise((resolve) => setTimeout(resolve, 50))
    return 42
  }

  const values = await Promise.all(Array.from({ length: 20 }, () => cache.get('cold', load)))

  assert.deepEqual(new Set(values), new Set([42]))
  assert.equal(loads, 1)
})

test('invalidation is seen by another instance, and a load begun before it is not stored', async (t) => {
  const a = createRedis({ url })
  const b = createRedis({ url })
  t.after(async () => {
    await a.quit()
    await b.quit()
  })
  assert.deepEqual(await Promise.all([whenConnected(a, 2000), whenConnected(b, 2000)]), [true, true])
  const name = `inv-${randomUUID()}`
  const metrics = createMetrics({ service: 't', processMetrics: false })
  const cacheA = createCache<string>({ redis: a, name, ttlSeconds: 30, metrics })
  const cacheB = createCache<string>({ redis: b, name, ttlSeconds: 30, metrics })
  let version = 'v1'

  await cacheA.get('p', async () => version)
  await eventually(2000, 'p stored', async () => ((await a.exists(`${name}:p`)) === 1 ? true : undefined))
  assert.equal(await cacheB.get('p', async () => 'unused'), 'v1')

  let release: (() => void) | undefined
  const slowLoad = cacheB.get('q', () => new Promise<string>((resolve) => (release = () => resolve('stale'))))
  await eventually(2000, 'the slow load started', async () => (release ? true : undefined))
  version = 'v2'
  assert.equal(await cacheB.invalidate('p', 'q'), true)
  release!()
  assert.equal(await slowLoad, 'stale')
  await new Promise((resolve) => setTimeout(resolve, 200)) // room for a store that must not happen

  assert.equal(await cacheA.get('p', async () => version), 'v2')
  assert.equal(await a.get(`${name}:q`), null)
})

test('Redis unreachable: reads fall through to the loader, counted as errors, never thrown', async (t) => {
  const client = createRedis({ url: deadUrl, connectTimeoutMs: 200 })
  t.after(() => client.disconnect())
  const metrics = createMetrics({ service: 't', processMetrics: false })
  const cache = createCache<string>({ redis: client, name: 'down', ttlSeconds: 30, metrics })

  assert.equal(await cache.get('k', async () => 'from-db'), 'from-db')
  assert.equal(await cache.get('k', async () => 'from-db'), 'from-db')
  assert.equal(await cache.invalidate('k'), false)

  assert.equal(await requests(metrics, 'down', 'error'), 2)
  await assert.rejects(checkRedis(client))
})

test('the plugin gates readiness on Redis when required, and quits on shutdown', async (t) => {
  const build = async (redisUrl: string, required: boolean) => {
    const app = Fastify(serverOptions({ logger: false }))
    await app.register(httpKit, { metrics: createMetrics({ service: 't', processMetrics: false }) })
    await app.register(redis, { url: redisUrl, required })
    await app.ready()
    return app
  }
  const up = await build(url, true)
  const downRequired = await build(deadUrl, true)
  const downOptional = await build(deadUrl, false)
  t.after(() => Promise.all([up.close(), downRequired.close(), downOptional.close()]))

  assert.equal((await up.inject({ url: '/health/ready' })).statusCode, 200)
  assert.equal((await downRequired.inject({ url: '/health/ready' })).statusCode, 503)
  assert.equal((await downOptional.inject({ url: '/health/ready' })).statusCode, 200)

  await up.close()
  await eventually(1000, 'the client ends after QUIT', async () =>
    up.redis.status === 'end' ? true : undefined
  )
  const never = createRedis({ url: deadUrl })
  t.after(() => never.disconnect())
  assert.equal(await whenConnected(never, 100), false)
})
