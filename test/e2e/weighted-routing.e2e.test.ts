// Weighted routing through the running platform: a second catalog (a stand-in that serves the real
// catalog's answers, registered in Consul as catalog-canary) takes 10 %, 50 %, then 100 % of the
// callers of GET /products/:id — sticky per caller, changed in Consul's KV store with both gateways
// running — and a bad version of it is taken out by the gateways' guard with no caller seeing an error.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import type { JWK } from 'jose'
import { compareAndSet, createConsul, readKey, registerService, type Registration } from '@platform/discovery'
import { readSample } from '@platform/metrics'
import { eventually, platform, stack } from '@platform/testing'
import { usePlatform } from '../support/platform.ts'
import { productInStock, signToken } from '../support/story.ts'

const edge = platform.edge
const consul = createConsul(stack.consul.url)
const KEY = 'platform/splits/catalog'
const ROUTE = 'GET /products/:id'
const TARGET = 'catalog-canary'

/** The second catalog: the real one's answers (good), or 500s (bad); it notes who asked. */
const canary = {
  mode: 'good' as 'good' | 'bad',
  requests: new Map<string, number>(),
  server: undefined as Server | undefined,
  registration: undefined as Registration | undefined
}

let undo: () => Promise<void> = async () => {}
let productId = ''
const users: Array<{ id: string; token: string }> = []

before(async () => {
  undo = await usePlatform()
  productId = (await productInStock(edge)).id
  const jwk = JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as JWK
  for (let i = 0; i < 200; i++) {
    const id = `split-user-${i}`
    users.push({ id, token: await signToken(jwk, { sub: id, exp: Math.floor(Date.now() / 1000) + 900 }) })
  }
  canary.server = createServer((req, res) => {
    if (req.url === '/health/ready') return void res.writeHead(200).end('{"status":"ok"}')
    const user = String(req.headers['x-user-id'] ?? '-')
    canary.requests.set(user, (canary.requests.get(user) ?? 0) + 1)
    if (canary.mode === 'bad') {
      res.writeHead(500, { 'content-type': 'application/json' })
      return void res.end('{"code":"INTERNAL_ERROR","message":"a bad version","requestId":"canary"}')
    }
    fetch(`${platform.catalog}${req.url}`, {
      headers: { 'x-request-id': String(req.headers['x-request-id']) }
    })
      .then(async (answer) => {
        res.writeHead(answer.status, {
          'content-type': answer.headers.get('content-type') ?? 'application/json',
          ...(answer.headers.get('etag') ? { etag: answer.headers.get('etag')! } : {})
        })
        res.end(Buffer.from(await answer.arrayBuffer()))
      })
      .catch(() => res.writeHead(502).end())
  })
  await new Promise<void>((resolve) => canary.server!.listen(0, '127.0.0.1', resolve))
  const port = (canary.server.address() as AddressInfo).port
  canary.registration = await registerService(consul, {
    name: TARGET,
    address: '127.0.0.1',
    port,
    checkIntervalSeconds: 1,
    initialStatus: 'passing'
  })
})

after(async () => {
  await consul.kv.del({ key: KEY })
  await canary.registration?.deregister()
  canary.server?.closeAllConnections()
  await new Promise((resolve) => canary.server?.close(resolve))
  await undo()
})

/** Writes the split, then waits until both gateways follow it. */
async function split(weight: number): Promise<void> {
  const current = await readKey(consul, KEY)
  const value = JSON.stringify({ target: TARGET, weight, routes: [ROUTE] })
  assert.ok(await compareAndSet(consul, KEY, value, current?.modifyIndex ?? 0))
  await eventually(10_000, `both gateways at ${weight} %`, async () => {
    const weights = await Promise.all(platform.gateways.map((g) => gatewayFigure(g, 'gateway_split_weight')))
    return weights.every((w) => w === weight) ? true : undefined
  })
}

async function gatewayFigure(
  gateway: string,
  name: string,
  labels: Record<string, string> = {}
): Promise<number> {
  const text = await (await fetch(`${gateway}/metrics`)).text()
  return readSample(text, name, { upstream: 'catalog', target: TARGET, ...labels }) ?? 0
}

/**
 * Every user asks for the product `times` times, 16 at a time (the edge sheds what is beyond its
 * connections to the gateways); every answer must be the product.
 */
async function round(times = 1): Promise<{ answers: number; failures: string[] }> {
  const failures: string[] = []
  let answers = 0
  for (let t = 0; t < times; t++) {
    const queue = [...users]
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let u = queue.shift(); u; u = queue.shift()) {
          const res = await fetch(`${edge}/api/v1/products/${productId}`, {
            headers: { authorization: `Bearer ${u.token}` }
          })
          const body = (await res.json()) as { id?: string }
          answers++
          if (res.status !== 200 || body.id !== productId)
            failures.push(`${u.id}: ${res.status} ${JSON.stringify(body)}`)
        }
      })
    )
  }
  return { answers, failures }
}

const atCanary = () => new Set(users.map((u) => u.id).filter((id) => canary.requests.has(id)))

test('10 % → 50 % → 100 % of the callers to the second catalog: sticky, each share about its weight', async () => {
  let before = new Set<string>()
  for (const weight of [10, 50, 100]) {
    await split(weight)
    await round() // a gateway sends the target its callers once discovery found it: moments
    canary.requests.clear()
    const { failures } = await round(2)
    assert.deepEqual(failures, [])
    const routed = atCanary()
    const share = routed.size / users.length
    assert.ok(
      Math.abs(share - weight / 100) <= 0.08,
      `${weight} %: ${(share * 100).toFixed(1)} % of the callers`
    )
    // Sticky: a caller's two requests went to the same target.
    for (const id of routed) assert.equal(canary.requests.get(id), 2, `${id} went to both targets`)
    // Raising the weight keeps the callers already moved.
    assert.deepEqual(
      [...before].filter((id) => !routed.has(id)),
      [],
      `callers of the ${weight} % round that left it`
    )
    before = routed
  }
  // Per-target figures on the gateways.
  const served = await Promise.all(
    platform.gateways.map((g) =>
      gatewayFigure(g, 'gateway_split_request_duration_seconds_count', { status_class: '2xx' })
    )
  )
  assert.ok(
    served.reduce((a, b) => a + b, 0) >= 600,
    `the canary's answers as the gateways counted them: ${served}`
  )
})

test('a bad version is rolled back to 0 % by the guard, and no caller sees an error', async (t) => {
  canary.mode = 'bad'
  await split(10)
  canary.requests.clear()
  const before = (
    await Promise.all(platform.gateways.map((g) => gatewayFigure(g, 'gateway_split_rollbacks_total')))
  ).reduce((a, b) => a + b, 0)
  let answers = 0
  const failures: string[] = []
  // Traffic until the split says it was rolled back (bounded: 30 rounds of 200 requests).
  for (let i = 0; i < 30; i++) {
    const r = await round()
    answers += r.answers
    failures.push(...r.failures)
    const config = JSON.parse((await readKey(consul, KEY))!.value) as {
      weight: number
      rolledBack?: { reason: string; weight: number }
    }
    if (config.weight === 0) {
      assert.match(
        config.rolledBack?.reason ?? '',
        /^error ratio \d+\.\d % over \d+ requests \(limit 7\.2 %\)$/
      )
      assert.equal(config.rolledBack?.weight, 10)
      break
    }
  }
  const bad = [...canary.requests.values()].reduce((a, b) => a + b, 0)
  t.diagnostic(
    `the bad version answered ${bad} of ${answers} requests (each retried on the catalog) before the guard took it out`
  )
  // Every request the bad version failed was answered by the catalog itself: the budget is untouched.
  assert.deepEqual(failures, [], `${failures.length} of ${answers} callers saw an error`)
  assert.ok(bad >= 20 && bad < 150, `the bad version got ${bad} requests before it was taken out`)
  const rollbacks = (
    await Promise.all(platform.gateways.map((g) => gatewayFigure(g, 'gateway_split_rollbacks_total')))
  ).reduce((a, b) => a + b, 0)
  assert.ok(rollbacks > before, 'a gateway counted the rollback')
  // Both gateways follow the rollback: nobody reaches the bad version any more.
  await eventually(10_000, 'both gateways at 0 %', async () => {
    const weights = await Promise.all(platform.gateways.map((g) => gatewayFigure(g, 'gateway_split_weight')))
    return weights.every((w) => w === 0) ? true : undefined
  })
  canary.requests.clear()
  assert.deepEqual((await round()).failures, [])
  assert.equal(atCanary().size, 0)
})
