// The whole platform, through NGINX, with everything real: scripts/platform.sh (npm run up) runs
// the infrastructure, the four services and two gateways as processes. Tests that stop a process
// start it again before they end.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { importJWK, SignJWT, type JWTPayload } from 'jose'
import { eventually, platform, stack } from '@platform/testing'

const run = promisify(execFile)
const edge = platform.edge
const root = fileURLToPath(new URL('../../', import.meta.url))
let startedHere = false

async function platformCommand(...args: string[]): Promise<void> {
  await run('bash', [platform.script, ...args], { cwd: root, timeout: 240_000 }).catch(
    (err: { stderr?: string }) => {
      const said = (err.stderr ?? '')
        .split('\n')
        .filter((l) => l.startsWith('error') || l.includes(': ready'))
      throw new Error(`scripts/platform.sh ${args.join(' ')} failed: ${said.join(' / ').slice(0, 500)}`)
    }
  )
}

before(async () => {
  const status = await run('bash', [platform.script, 'status'], { cwd: root }).then(
    () => 'up',
    () => 'down'
  )
  if (status === 'down') {
    startedHere = true
    await platformCommand('up')
  }
})
after(async () => {
  // A platform someone else started is left running.
  if (startedHere)
    await platformCommand('stop', 'gateway-2', 'gateway', 'notification', 'order', 'catalog', 'mail')
})

let signingKey: Awaited<ReturnType<typeof importJWK>> | undefined
let kid = ''
/** A token as the development issuer would sign it, with any claim overridden. */
async function token(claims: JWTPayload = {}, header: Record<string, string> = {}): Promise<string> {
  if (!signingKey) {
    const jwk = JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as { kid: string }
    kid = jwk.kid
    signingKey = await importJWK(jwk, 'ES256')
  }
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    roles: ['customer'],
    iss: 'https://auth.platform.local',
    aud: 'platform-api',
    sub: `e2e-${randomUUID().slice(0, 8)}`,
    iat: now,
    exp: now + 300,
    ...claims
  })
    .setProtectedHeader({ alg: 'ES256', kid, ...header })
    .sign(signingKey)
}

async function api<T = unknown>(path: string, init: RequestInit & { token?: string } = {}) {
  const { token: bearer, ...rest } = init
  const res = await fetch(`${edge}${path}`, {
    ...rest,
    headers: {
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      ...(rest.body ? { 'content-type': 'application/json' } : {}),
      ...(rest.headers as Record<string, string> | undefined)
    }
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T }
}

async function productInStock(): Promise<{ id: string; currency: string }> {
  const { body } = await api<{ items: Array<{ id: string; stock: number; currency: string }> }>(
    '/api/v1/products?limit=50&active=true&sort=price'
  )
  const product = body.items.find((p) => p.stock > 5)
  assert.ok(product, 'a product in stock (the seed has plenty)')
  return product
}

test('the story: sign in, browse, order, CONFIRMED, the notification streamed and emailed', async (t) => {
  const login = await api<{ accessToken: string }>('/api/v1/auth/token', {
    method: 'POST',
    body: JSON.stringify({ username: 'bob', password: 'demo' })
  })
  assert.equal(login.status, 200)
  const bob = login.body.accessToken

  // The notification stream, through NGINX, before the order exists.
  const abort = new AbortController()
  t.after(() => abort.abort())
  const stream = await fetch(`${edge}/api/v1/notifications/stream`, {
    headers: { authorization: `Bearer ${bob}` },
    signal: abort.signal
  })
  assert.equal(stream.status, 200)
  let streamed = ''
  void (async () => {
    try {
      for await (const chunk of stream.body!) streamed += Buffer.from(chunk).toString()
    } catch {
      // aborted at the end
    }
  })()

  const product = await productInStock()
  const placed = await api<{ id: string; status: string }>('/api/v1/orders', {
    method: 'POST',
    token: bob,
    headers: { 'idempotency-key': randomUUID() },
    body: JSON.stringify({ lines: [{ productId: product.id, quantity: 1 }] })
  })
  assert.equal(placed.status, 201)
  assert.equal(placed.headers.get('location'), `/api/v1/orders/${placed.body.id}`)
  const confirmed = await eventually(30_000, 'CONFIRMED', async () => {
    const res = await api<{ status: string }>(`/api/v1/orders/${placed.body.id}`, { token: bob })
    return res.body.status === 'CONFIRMED' ? res.body : undefined
  })
  assert.equal(confirmed.status, 'CONFIRMED')

  const subject = `Order ${placed.body.id.slice(0, 8).toUpperCase()} is confirmed`
  await eventually(15_000, 'the notification on the stream', async () =>
    streamed.includes(subject) ? true : undefined
  )
  assert.match(streamed, /event: notification/)
  const listed = await api<{ items: Array<{ subject: string }> }>('/api/v1/notifications', { token: bob })
  assert.ok(listed.body.items.some((n) => n.subject === subject))
  const email = await eventually(15_000, 'the email in the sink', async () => {
    const res = await fetch(`${platform.mail}/api/v1/messages`)
    const { messages } = (await res.json()) as {
      messages: Array<{ Subject: string; To: Array<{ Address: string }> }>
    }
    return messages.find((m) => m.Subject === subject)
  })
  assert.deepEqual(email.To, [{ Address: 'bob@customers.example.test' }])
})

test('npm run demo walks the story against the running platform', async () => {
  const child = spawn('bash', ['scripts/run.sh', 'node', '--conditions=development', 'scripts/demo.ts'], {
    cwd: root
  })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  const code = await new Promise((resolve) => child.once('exit', resolve))
  assert.equal(code, 0, out)
  assert.match(out, /Watch it become CONFIRMED/)
  assert.match(out, /And the email in the SMTP sink/)
})

test('401 for a missing, expired, not-yet-valid, wrongly-issued, wrong-audience, tampered or alg-none token', async () => {
  const now = Math.floor(Date.now() / 1000)
  const good = await token()
  const [h, p, s] = good.split('.')
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as JWTPayload
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, roles: ['admin'] })).toString('base64url')}.${s}`
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`
  const cases: Record<string, string | undefined> = {
    missing: undefined,
    expired: await token({ exp: now - 300, iat: now - 600 }),
    'not yet valid': await token({ nbf: now + 300 }),
    'wrong issuer': await token({ iss: 'https://someone-else.test' }),
    'wrong audience': await token({ aud: 'another-api' }),
    tampered,
    'alg none': none
  }
  for (const [name, bearer] of Object.entries(cases)) {
    const res = await api<{ code: string }>('/api/v1/orders', bearer ? { token: bearer } : {})
    assert.equal(res.status, 401, name)
    assert.equal(res.body.code, 'UNAUTHENTICATED', name)
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="platform"/, name)
  }
  assert.equal((await api('/api/v1/orders', { token: good })).status, 200)
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
  const product = await productInStock()
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
  const expected = ['catalog', 'order', 'notification', 'gateway', 'gateway']
  await eventually(30_000, 'up == 1 for every instance', async () => {
    const res = await fetch(
      `${stack.prometheus.url}/api/v1/query?query=${encodeURIComponent('up{job=~"catalog|order|notification|gateway"} == 1')}`
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

test('one gateway killed during a stream of GETs: none of them fails at the client', async () => {
  const bearer = await token()
  let stop = false
  const failures: string[] = []
  let done = 0
  // Four clients read without pause (authenticated, so past the edge cache) while a gateway dies.
  const clients = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const res = await fetch(`${edge}/api/v1/orders?limit=1`, {
        headers: { authorization: `Bearer ${bearer}` }
      }).catch((err: Error) => ({
        status: 0,
        statusText: err.message,
        arrayBuffer: async () => new ArrayBuffer(0)
      }))
      await res.arrayBuffer()
      if (res.status !== 200 && res.status !== 429) failures.push(`${res.status} ${res.statusText}`)
      done++
    }
  })
  await new Promise((resolve) => setTimeout(resolve, 500))
  await platformCommand('kill', 'gateway-2')
  await new Promise((resolve) => setTimeout(resolve, 1500))
  stop = true
  await Promise.all(clients)
  await platformCommand('start', 'gateway-2')
  assert.ok(done > 100, `only ${done} requests were made`)
  assert.deepEqual(failures, [])
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
