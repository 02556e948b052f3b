import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { scratchSchema, stack } from '@platform/testing'
import type { ServiceAppOptions as AppOptions } from '@platform/service'
import { buildApp } from '../src/app.ts'
import { readConfig } from '../src/config.ts'

export const admin = { 'x-user-id': 'admin-1', 'x-user-roles': 'admin' }

/** Configuration of a catalog on the real stack, in a scratch schema of the catalog database. */
export function testConfig(overrides: Record<string, string>) {
  return readConfig({
    LOG_LEVEL: 'warn',
    REDIS_URL: `redis://${stack.redis.host}:${stack.redis.port}`,
    KAFKA_BROKERS: stack.kafka.brokers.join(','),
    ...overrides
  })
}

/** A scratch schema and `count` catalog apps sharing it (and Redis), closed after the test. */
export async function catalogs(
  t: TestContext,
  count = 1,
  options: AppOptions & { env?: Record<string, string> } = { messaging: false }
): Promise<{ apps: FastifyInstance[]; url: string }> {
  const schema = await scratchSchema()
  const apps: FastifyInstance[] = []
  t.after(async () => {
    for (const app of apps) await app.close()
    await schema.drop()
  })
  for (let i = 0; i < count; i++) {
    // Each test's products live in its own schema; its cache keys must not meet another test's.
    const config = testConfig({ DATABASE_URL: schema.url, ...options.env })
    const app = await buildApp(config, options)
    apps.push(app)
    await app.ready()
  }
  return { apps, url: schema.url }
}

let skuCounter = 0
export function newProduct(overrides: Record<string, unknown> = {}) {
  skuCounter++
  return {
    sku: `T-${randomUUID().slice(0, 8)}-${skuCounter}`,
    name: `Test product ${skuCounter}`,
    description: 'A product made by a test',
    priceMinor: 1000 + skuCounter,
    currency: 'EUR',
    stock: 10,
    ...overrides
  }
}

export async function create(app: FastifyInstance, body: Record<string, unknown> = newProduct()) {
  const res = await app.inject({ method: 'POST', url: '/products', headers: admin, payload: body })
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`)
  return res.json() as { id: string; version: number; stock: number; name: string; priceMinor: number }
}
