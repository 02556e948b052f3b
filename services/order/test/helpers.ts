import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { eventually, freePort, scratchSchema, scratchTopics, stack } from '@platform/testing'
import type { ServiceAppOptions as AppOptions } from '@platform/service'
import { buildApp } from '../src/app.ts'
import { readConfig } from '../src/config.ts'

export const alice = { 'x-user-id': 'alice' }
export const bob = { 'x-user-id': 'bob' }
const admin = { 'x-user-id': 'admin', 'x-user-roles': 'admin' }

export interface Scope {
  prefix: string
  /** Cleans up at the end of the test, before what was deferred earlier (last in, first out). */
  defer: (fn: () => unknown) => void
}

/**
 * Topics of the test's own for both services (`<prefix><topic>`), and a cleanup order in which
 * services stop before their topics and schemas go.
 */
export async function sagaScope(t: TestContext): Promise<Scope> {
  const prefix = `t${randomUUID().slice(0, 8)}.`
  const topics = await scratchTopics(
    ['order.events', 'order.events.dlq', 'catalog.events', 'catalog.events.dlq'].map((n) => `${prefix}${n}`)
  )
  const deferred: Array<() => unknown> = [topics.drop]
  t.after(async () => {
    for (const fn of deferred.reverse()) await fn()
  })
  return { prefix, defer: (fn) => void deferred.push(fn) }
}

export interface CatalogProcess {
  url: string
  stop: () => Promise<void>
  createProduct: (stock: number, priceMinor?: number) => Promise<string>
  stockOf: (id: string) => Promise<number>
}

/** The real catalog service, as a process, on its own scratch schema and the test's topics. */
export async function catalogService(scope: Scope, prefix = scope.prefix): Promise<CatalogProcess> {
  const schema = await scratchSchema('catalog')
  const port = await freePort()
  const child = spawn(process.execPath, ['--conditions=development', 'src/server.ts'], {
    cwd: fileURLToPath(new URL('../../catalog/', import.meta.url)),
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'error',
      DATABASE_URL: schema.url,
      REDIS_URL: `redis://${stack.redis.host}:${stack.redis.port}`,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      OTEL_EXPORTER_OTLP_ENDPOINT: ''
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM')
    await exited
  }
  scope.defer(async () => {
    await stop()
    await schema.drop()
  })
  const url = `http://127.0.0.1:${port}`
  await eventually(30_000, 'catalog ready', async () =>
    (await fetch(`${url}/health/ready`).catch(() => undefined))?.ok ? true : undefined
  )
  return {
    url,
    stop,
    async createProduct(stock, priceMinor = 1250) {
      const res = await fetch(`${url}/products`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({
          sku: `O-${randomUUID().slice(0, 10)}`,
          name: 'Order test item',
          priceMinor,
          currency: 'EUR',
          stock
        })
      })
      if (res.status !== 201) throw new Error(`catalog create: ${res.status} ${await res.text()}`)
      return ((await res.json()) as { id: string }).id
    },
    async stockOf(id) {
      const res = await fetch(`${url}/products/${id}`)
      return ((await res.json()) as { stock: number }).stock
    }
  }
}

/** The order service in this process, on a scratch schema of the orders database. */
export async function orderService(
  scope: Scope,
  env: Record<string, string>,
  options: AppOptions = {},
  schemaUrl?: string
): Promise<{ app: FastifyInstance; url: string; db: pg.Client }> {
  const schema = schemaUrl ? undefined : await scratchSchema('orders')
  const url = schemaUrl ?? schema!.url
  const app = await buildApp(
    readConfig({
      LOG_LEVEL: 'error',
      DATABASE_URL: url,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      KAFKA_TOPIC_PREFIX: scope.prefix,
      ...env
    }),
    options
  )
  await app.ready()
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  scope.defer(async () => {
    await app.close()
    await db.end()
    await schema?.drop()
  })
  return { app, url, db }
}

export function order(productId: string, quantity = 1) {
  return { lines: [{ productId, quantity }] }
}

export async function waitForStatus(app: FastifyInstance, id: string, status: string, who = alice) {
  return eventually(30_000, `order ${id} ${status}`, async () => {
    const res = await app.inject({ url: `/orders/${id}`, headers: who })
    const body = res.json() as { id: string; status: string; reason?: string }
    return body.status === status ? body : undefined
  })
}
