// The end-to-end story every deploy target must pass through its edge — natively (npm run up),
// under docker compose and on the Kubernetes node: sign in, order, CONFIRMED, the notification
// streamed and emailed; 401s for bad tokens; `npm run demo`; one gateway lost under a GET loop
// without a failed request. Each target says how to reach it and how to lose a gateway.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose'
import { eventually } from '@platform/testing'
import { closePage, launch, openPage } from './browser.ts'

export interface DeployTarget {
  /** The edge, e.g. http://127.0.0.1:8080 */
  edge: string
  /** A Mailpit-compatible message API base, e.g. http://127.0.0.1:8025, for the test `t`. */
  mail: (t: TestContext) => Promise<string>
  /** The development issuer's private JWK (to sign tokens the gateway must refuse). */
  signingKey: () => Promise<JWK>
  /** Takes one gateway instance away while clients read (a crash, a pod deleted…). */
  loseGateway: () => Promise<void>
  /** Gives it back, and resolves once it serves again. */
  restoreGateway: () => Promise<void>
}

export interface MailMessage {
  Subject: string
  To: Array<{ Address: string }>
}

const root = fileURLToPath(new URL('../../', import.meta.url))

export async function api<T = unknown>(
  edge: string,
  path: string,
  init: RequestInit & { token?: string } = {}
): Promise<{ status: number; headers: Headers; body: T }> {
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

/** A token as the development issuer would sign it, with any claim overridden. */
export async function signToken(
  jwk: JWK,
  claims: JWTPayload = {},
  header: Record<string, string> = {}
): Promise<string> {
  const key = await importJWK(jwk, 'ES256')
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
    .setProtectedHeader({ alg: 'ES256', kid: String(jwk.kid), ...header })
    .sign(key)
}

export async function productInStock(edge: string): Promise<{ id: string; currency: string }> {
  const { body } = await api<{ items: Array<{ id: string; stock: number; currency: string }> }>(
    edge,
    '/api/v1/products?limit=50&active=true&sort=price'
  )
  const product = body.items.find((p) => p.stock > 5)
  assert.ok(product, 'a product in stock (the seed has plenty)')
  return product
}

async function messages(mail: string): Promise<MailMessage[]> {
  const res = await fetch(`${mail}/api/v1/messages`)
  return ((await res.json()) as { messages: MailMessage[] }).messages
}

/**
 * Reads without pause from `clients` concurrent loops (authenticated, so past the edge cache) while
 * `during` runs; resolves with every answer that was neither 200 nor 429 (a connection that failed
 * shows as `0 <cause code>`), how many were made, and how many were sent again.
 *
 * A kept-alive connection the server closes — as NGINX and the services do with idle ones when
 * they stop — can cross a request the client just sent on it. HTTP leaves that race to the client
 * (RFC 9112 §9.3.1: an idempotent request may be retried on a new connection), and browsers retry;
 * undici's fetch doesn't, so these loops do it once, as a browser would. A refused connection, a
 * timeout or any status is never retried, and `retried` lets a test bound how often it happened.
 */
export async function readLoopDuring(
  edge: string,
  bearer: string,
  during: () => Promise<void>,
  { clients = 4, settleMs = 1500 } = {}
): Promise<{ failures: string[]; done: number; retried: number }> {
  let stop = false
  const failures: string[] = []
  let done = 0
  let retried = 0
  const read = () =>
    fetch(`${edge}/api/v1/orders?limit=1`, { headers: { authorization: `Bearer ${bearer}` } })
  const causeOf = (err: Error) => (err.cause as { code?: string } | undefined)?.code
  const closedUnder = (err: Error) => ['UND_ERR_SOCKET', 'ECONNRESET'].includes(causeOf(err) ?? '')
  const loops = Array.from({ length: clients }, async () => {
    while (!stop) {
      const res = await read()
        .catch((err: Error) => {
          if (!closedUnder(err)) throw err
          retried++
          return read()
        })
        .catch((err: Error) => ({
          status: 0,
          statusText: causeOf(err) ?? err.message,
          arrayBuffer: async () => new ArrayBuffer(0)
        }))
      const body = Buffer.from(await res.arrayBuffer()).toString()
      if (res.status !== 200 && res.status !== 429)
        failures.push(`${res.status} ${/"code":"(\w+)"/.exec(body)?.[1] ?? res.statusText}`)
      done++
    }
  })
  try {
    await new Promise((resolve) => setTimeout(resolve, 500))
    await during()
    await new Promise((resolve) => setTimeout(resolve, settleMs))
  } finally {
    stop = true
    await Promise.all(loops)
  }
  return { failures, done, retried }
}

/**
 * A little of everything a dashboard shows: anonymous and signed-in catalog reads (lists and by
 * id, so the catalog's cache is used), an order placed and confirmed (events through Kafka, an
 * email), a 404.
 */
export async function driveTraffic(edge: string, jwk: JWK): Promise<void> {
  const bearer = await signToken(jwk)
  const product = await productInStock(edge)
  // Paced well under the edge's per-address limit: earlier tests may have used its burst.
  for (let i = 0; i < 20; i++) {
    await api(edge, `/api/v1/products?limit=5&q=${randomUUID().slice(0, 4)}`)
    await api(edge, `/api/v1/products/${product.id}`, { token: bearer })
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal((await api(edge, `/api/v1/orders/${randomUUID()}`, { token: bearer })).status, 404)
  const placed = await api<{ id: string }>(edge, '/api/v1/orders', {
    method: 'POST',
    token: bearer,
    headers: { 'idempotency-key': randomUUID() },
    body: JSON.stringify({ lines: [{ productId: product.id, quantity: 1 }] })
  })
  assert.equal(placed.status, 201)
  await eventually(30_000, 'the order decided', async () => {
    const res = await api<{ status: string }>(edge, `/api/v1/orders/${placed.body.id}`, { token: bearer })
    return res.body.status !== 'PENDING' ? true : undefined
  })
}

/** Registers the story's tests against a target. */
export function storyTests(target: DeployTarget): void {
  const { edge } = target

  test('the story: sign in, browse, order, CONFIRMED, the notification streamed and emailed', async (t) => {
    const login = await api<{ accessToken: string }>(edge, '/api/v1/auth/token', {
      method: 'POST',
      body: JSON.stringify({ username: 'bob', password: 'demo' })
    })
    assert.equal(login.status, 200)
    const bob = login.body.accessToken

    // The notification stream, through the edge, before the order exists.
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

    const product = await productInStock(edge)
    const placed = await api<{ id: string; status: string }>(edge, '/api/v1/orders', {
      method: 'POST',
      token: bob,
      headers: { 'idempotency-key': randomUUID() },
      body: JSON.stringify({ lines: [{ productId: product.id, quantity: 1 }] })
    })
    assert.equal(placed.status, 201)
    assert.equal(placed.headers.get('location'), `/api/v1/orders/${placed.body.id}`)
    const confirmed = await eventually(30_000, 'CONFIRMED', async () => {
      const res = await api<{ status: string }>(edge, `/api/v1/orders/${placed.body.id}`, { token: bob })
      return res.body.status === 'CONFIRMED' ? res.body : undefined
    })
    assert.equal(confirmed.status, 'CONFIRMED')

    const subject = `Order ${placed.body.id.slice(0, 8).toUpperCase()} is confirmed`
    await eventually(15_000, 'the notification on the stream', async () =>
      streamed.includes(subject) ? true : undefined
    )
    assert.match(streamed, /event: notification/)
    const listed = await api<{ items: Array<{ subject: string }> }>(edge, '/api/v1/notifications', {
      token: bob
    })
    assert.ok(listed.body.items.some((n) => n.subject === subject))
    const mail = await target.mail(t)
    const email = await eventually(15_000, 'the email in the sink', async () =>
      (await messages(mail)).find((m) => m.Subject === subject)
    )
    assert.deepEqual(
      email.To.map((to) => to.Address),
      ['bob@customers.example.test']
    )
  })

  test('401 for a missing, expired, not-yet-valid, wrongly-issued, wrong-audience, tampered or alg-none token', async () => {
    const jwk = await target.signingKey()
    const now = Math.floor(Date.now() / 1000)
    const good = await signToken(jwk)
    const [h, p, s] = good.split('.')
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as JWTPayload
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, roles: ['admin'] })).toString('base64url')}.${s}`
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`
    const cases: Record<string, string | undefined> = {
      missing: undefined,
      expired: await signToken(jwk, { exp: now - 300, iat: now - 600 }),
      'not yet valid': await signToken(jwk, { nbf: now + 300 }),
      'wrong issuer': await signToken(jwk, { iss: 'https://someone-else.test' }),
      'wrong audience': await signToken(jwk, { aud: 'another-api' }),
      tampered,
      'alg none': none
    }
    for (const [name, bearer] of Object.entries(cases)) {
      const res = await api<{ code: string }>(edge, '/api/v1/orders', bearer ? { token: bearer } : {})
      assert.equal(res.status, 401, name)
      assert.equal(res.body.code, 'UNAUTHENTICATED', name)
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="platform"/, name)
    }
    assert.equal((await api(edge, '/api/v1/orders', { token: good })).status, 200)
  })

  test('the web app: the edge serves it with cached assets, and it shows the catalog in a browser', async () => {
    const page = await fetch(`${edge}/`)
    assert.equal(page.status, 200)
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
    assert.equal(page.headers.get('cache-control'), 'no-cache')
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/)
    const html = await page.text()
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    assert.ok(script, `the entry page names its script: ${html.slice(0, 300)}`)
    const asset = await fetch(`${edge}${script}`, { headers: { 'accept-encoding': 'gzip' } })
    assert.equal(asset.status, 200)
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(asset.headers.get('content-encoding'), 'gzip')
    await asset.arrayBuffer()

    const browser = await launch()
    try {
      const tab = await openPage(browser, edge)
      await tab.goto('/')
      await tab.getByTestId('product-card').first().waitFor({ timeout: 20_000 })
      await closePage(tab)
    } finally {
      await browser.close()
    }
  })

  test('npm run demo walks the story against it', async (t) => {
    const env = { ...process.env, EDGE_URL: edge, MAIL_URL: await target.mail(t) }
    const child = spawn('bash', ['scripts/run.sh', 'node', '--conditions=development', 'scripts/demo.ts'], {
      cwd: root,
      env
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    const code = await new Promise((resolve) => child.once('exit', resolve))
    assert.equal(code, 0, out)
    assert.match(out, /Watch it become CONFIRMED/)
    assert.match(out, /And the email in the SMTP sink/)
  })

  test('one gateway lost during a stream of GETs: none of them fails at the client', async () => {
    const bearer = await signToken(await target.signingKey())
    try {
      const { failures, done, retried } = await readLoopDuring(edge, bearer, target.loseGateway)
      assert.ok(done > 100, `only ${done} requests were made`)
      assert.deepEqual(failures, [])
      assert.equal(retried, 0, 'the edge kept every client connection open')
    } finally {
      await target.restoreGateway()
    }
  })
}
