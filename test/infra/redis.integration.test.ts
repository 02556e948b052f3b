import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { Redis } from 'ioredis'
import { stack } from '@platform/testing'

test('redis: SET with a TTL, then GET returns the value', async (t) => {
  const redis = new Redis({ ...stack.redis, lazyConnect: true, maxRetriesPerRequest: 1 })
  await redis.connect()
  t.after(() => redis.quit())
  const key = `smoke:${randomUUID()}`

  assert.equal(await redis.set(key, 'hello', 'EX', 30), 'OK')
  assert.equal(await redis.get(key), 'hello')
  assert.ok((await redis.ttl(key)) > 0)
  assert.match(await redis.info('server'), /redis_version:7\./)
})
