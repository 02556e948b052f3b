import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readSample } from '@platform/metrics'
import { eventually, privateRedis } from '@platform/testing'
import { admin, catalogs, create } from './helpers.ts'

async function cacheCount(
  app: { inject: (o: { url: string }) => Promise<{ body: string }> },
  result: string
) {
  return (
    readSample((await app.inject({ url: '/metrics' })).body, 'cache_requests_total', {
      cache: 'product',
      result
    }) ?? 0
  )
}

test('two instances share the cache: miss, hit, and an invalidation by the other instance holds', async (t) => {
  const {
    apps: [a, b]
  } = await catalogs(t, 2)
  const product = await create(a!)

  await a!.inject({ url: `/products/${product.id}` })
  // The read does not wait for the cache write: wait until Redis has it.
  await eventually(2000, 'product cached', async () =>
    (await a!.redis.exists(`product:${product.id}`)) === 1 ? true : undefined
  )
  const cached = await b!.inject({ url: `/products/${product.id}` })
  assert.equal(cached.json().stock, 10)
  assert.equal(await cacheCount(a!, 'miss'), 1)
  assert.equal(await cacheCount(b!, 'hit'), 1)

  const patched = await b!.inject({
    method: 'PATCH',
    url: `/products/${product.id}`,
    headers: { ...admin, 'if-match': '"1"' },
    payload: { stock: 4 }
  })
  assert.equal(patched.statusCode, 200)

  const fresh = await a!.inject({ url: `/products/${product.id}` })
  assert.deepEqual([fresh.json().stock, fresh.json().version], [4, 2])
  assert.equal(await cacheCount(a!, 'miss'), 2)
})

test('with Redis stopped, reads come from Postgres and still answer 200; the misses are counted', async (t) => {
  const redis = await privateRedis()
  t.after(redis.stop)
  const {
    apps: [app]
  } = await catalogs(t, 1, { messaging: false, env: { REDIS_URL: redis.url } })
  const product = await create(app!)
  assert.equal((await app!.inject({ url: `/products/${product.id}` })).statusCode, 200)

  await redis.stop()
  const reads = await Promise.all([1, 2, 3].map(() => app!.inject({ url: `/products/${product.id}` })))

  assert.deepEqual(
    reads.map((r) => r.statusCode),
    [200, 200, 200]
  )
  assert.deepEqual(
    reads.map((r) => r.json().id),
    [product.id, product.id, product.id]
  )
  assert.equal(await cacheCount(app!, 'error'), 3)
  assert.equal((await app!.inject({ url: '/health/ready' })).statusCode, 200) // Redis is only a cache
})
