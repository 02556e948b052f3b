// The whole platform, through NGINX, with everything real: scripts/platform.sh (npm run up) runs
// the infrastructure, the four services and two gateways as processes. Tests that stop a process
// start it again before they end.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import type { JWK, JWTPayload } from 'jose'
import { eventually, platform, stack } from '@platform/testing'
import { platformCommand, usePlatform } from '../support/platform.ts'
import { api as api_, productInStock, signToken, storyTests } from '../support/story.ts'
import { manifests } from '../../scripts/services.ts'

const edge = platform.edge
let release: () => Promise<void> = async () => {}

before(async () => {
  release = await usePlatform()
})
after(() => release())

const signingKey = async () => JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as JWK
const token = async (claims: JWTPayload = {}) => signToken(await signingKey(), claims)
const api = <T = unknown>(path: string, init: RequestInit & { token?: string } = {}) =>
  api_<T>(edge, path, init)

storyTests({
  edge,
  mail: async () => platform.mail,
  signingKey,
  loseGateway: () => platformCommand('kill', 'gateway-2'),
  restoreGateway: () => platformCommand('start', 'gateway-2')
})

test('429 after the per-user limit, with Retry-After; a second user is unaffected', async () => {
  const first = await token()
  const second = await token()
  // The platform's gateways allow RATE_LIMIT_MAX (600) requests a minute per user, counted in Redis.
  const statuses: number[] = []
  for (let batch = 0; batch < 13 && !statuses.includes(429); batch++) {
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${edge}/api/v1/notifications?limit=1`, { headers: { authorization: `Bearer ${first}` } })
      )
    )
    statuses.push(...answers.map((r) => r.status))
    await Promise.all(answers.map((r) => r.arrayBuffer()))
  }
  assert.equal(
    statuses.filter((s) => s === 200).length,
    600,
    'exactly the limit was let through, over both gateways'
  )
  const limited = await api<{ code: string }>('/api/v1/notifications?limit=1', { token: first })
  assert.equal(limited.status, 429)
  assert.equal(limited.body.code, 'RATE_LIMITED')
  assert.ok(Number(limited.headers.get('retry-after')) > 0)
  assert.equal((await api('/api/v1/notifications?limit=1', { token: second })).status, 200)
})

test('a user cannot read another user’s order', async () => {
  const [alice, mallory] = [await token(), await token()]
  const product = await productInStock(edge)
  const placed = await api<{ id: string }>('/api/v1/orders', {
    method: 'POST',
    token: alice,
    headers: { 'idempotency-key': randomUUID() },
    body: JSON.stringify({ lines: [{ productId: product.id, quantity: 1 }] })
  })
  assert.equal(placed.status, 201)
  assert.equal((await api(`/api/v1/orders/${placed.body.id}`, { token: alice })).status, 200)
  const other = await api<{ code: string }>(`/api/v1/orders/${placed.body.id}`, { token: mallory })
  assert.equal(other.status, 404)
  assert.equal(other.body.code, 'ORDER_NOT_FOUND')
})

test('Prometheus finds every service instance through Consul and scrapes it: up == 1', async () => {
  // Every service of the manifests, the edge twice.
  const expected = manifests().flatMap((m) => (m.edge ? [m.name, m.name] : [m.name]))
  await eventually(30_000, 'up == 1 for every instance', async () => {
    const res = await fetch(
      `${stack.prometheus.url}/api/v1/query?query=${encodeURIComponent(`up{job=~"${[...new Set(expected)].join('|')}"} == 1`)}`
    )
    const { data } = (await res.json()) as {
      data: { result: Array<{ metric: { job: string; instance: string } }> }
    }
    const live = new Set(data.result.map((r) => r.metric.instance))
    const ours = [platform.catalog, ...platform.gateways].map((u) => new URL(u).host)
    const jobs = data.result.map((r) => r.metric.job).sort()
    return ours.every((i) => live.has(i)) && expected.every((j) => jobs.includes(j)) ? true : undefined
  })
})

test('the catalog down: product reads answer 503 with Retry-After quickly, and recover after a restart', async () => {
  await platformCommand('kill', 'catalog')
  try {
    for (let i = 0; i < 15; i++) {
      const started = Date.now()
      // A query of its own each time: the edge's micro-cache must not answer for the catalog.
      const res = await api<{ code: string }>(`/api/v1/products?limit=3&q=${randomUUID().slice(0, 6)}`)
      const ms = Date.now() - started
      assert.equal(res.status, 503, `read ${i}`)
      assert.ok(Number(res.headers.get('retry-after')) >= 1)
      assert.match(res.body.code, /^(UPSTREAM_|CIRCUIT_OPEN|NO_HEALTHY_INSTANCE)/)
      assert.ok(ms < 1000, `read ${i} took ${ms} ms`)
    }
  } finally {
    await platformCommand('start', 'catalog')
  }
  await eventually(20_000, 'reads recover', async () => {
    const res = await api(`/api/v1/products?limit=3&q=${randomUUID().slice(0, 6)}`)
    return res.status === 200 ? true : undefined
  })
})
