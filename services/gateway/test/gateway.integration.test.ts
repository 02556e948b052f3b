import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { Overview } from '@platform/contracts'
import { createConsul, registerService } from '@platform/discovery'
import { eventually, privateRedis, stack } from '@platform/testing'
import {
  AUDIENCE,
  gateway,
  hmacWithPublicKey,
  identityProvider,
  ISSUER,
  recordingService,
  unsignedToken
} from './helpers.ts'

const productId = '0b7c1e2a-4d5f-4a6b-8c9d-0e1f2a3b4c5d'

test('every bad token is a 401 with WWW-Authenticate, and the request never reaches a service', async (t) => {
  const idp = await identityProvider()
  const other = await identityProvider('k1') // same kid, another key: a forged signature
  const upstream = await recordingService(t)
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })
  const now = Math.floor(Date.now() / 1000)
  const valid = await idp.sign({})
  const [h, p] = valid.split('.')
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'bob' })).toString('base64url')}.${valid.split('.')[2]}`

  const cases: Array<[string, string | undefined, RegExp]> = [
    ['missing', undefined, /^Bearer realm="platform"$/],
    [
      'expired',
      await idp.sign({}, { exp: now - 120 }),
      /error="invalid_token", error_description="the token has expired"/
    ],
    ['not yet valid', await idp.sign({}, { nbf: now + 120 }), /not valid yet/],
    ['wrong issuer', await idp.sign({ iss: 'https://evil.test' }), /unexpected issuer/],
    ['wrong audience', await idp.sign({ aud: 'another-api' }), /another audience/],
    ['tampered', tampered, /signature is invalid/],
    ['signed by another key', await other.sign({}), /signature is invalid/],
    [
      'alg none',
      unsignedToken({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now + 300 }),
      /invalid_token/
    ],
    [
      'HS256 with the public key',
      hmacWithPublicKey({ sub: 'alice', iss: ISSUER, aud: AUDIENCE, exp: now + 300 }, idp.publicJwk),
      /not allowed|invalid_token/
    ],
    ['not a bearer token', 'Basic YWxpY2U6ZGVtbw==', /invalid_token/]
  ]
  for (const [name, token, challenge] of cases) {
    const authorization =
      token === undefined ? undefined : token.startsWith('Basic') ? token : `Bearer ${token}`
    const res = await app.inject({ url: '/api/v1/orders', headers: authorization ? { authorization } : {} })
    assert.equal(res.statusCode, 401, name)
    assert.equal((res.json() as { code: string }).code, 'UNAUTHENTICATED', name)
    assert.match(String(res.headers['www-authenticate']), challenge, name)
  }
  assert.equal(upstream.seen.length, 0)

  // A clock skew within the allowance is accepted.
  const ok = await app.inject({
    url: '/api/v1/orders',
    headers: { authorization: `Bearer ${await idp.sign({}, { nbf: now + 10 })}` }
  })
  assert.equal(ok.statusCode, 200)
})

test('identity reaches services only from the token; clients cannot set it', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })

  await app.inject({
    url: `/api/v1/products/${productId}?fields=x`,
    headers: { 'x-user-id': 'admin', 'x-user-roles': 'admin', 'x-request-id': 'edge-123' }
  })
  const anonymous = upstream.seen.at(-1)!
  assert.equal(anonymous.url, `/products/${productId}?fields=x`)
  assert.equal(anonymous.headers['x-user-id'], undefined)
  assert.equal(anonymous.headers['x-user-roles'], undefined)
  assert.equal(anonymous.headers['x-request-id'], 'edge-123')

  const token = await idp.sign({ sub: 'carol', roles: ['customer'] })
  await app.inject({
    method: 'POST',
    url: '/api/v1/orders',
    headers: { authorization: `Bearer ${token}`, 'x-user-id': 'mallory', 'idempotency-key': 'k1' },
    payload: { lines: [{ productId, quantity: 1 }] }
  })
  const placed = upstream.seen.at(-1)!
  assert.equal(placed.headers['x-user-id'], 'carol')
  assert.equal(placed.headers['x-user-roles'], 'customer')
  assert.equal(placed.headers['idempotency-key'], 'k1')
  assert.equal(placed.headers.authorization, undefined) // the token stays at the gateway
  assert.deepEqual(JSON.parse(placed.body), { lines: [{ productId, quantity: 1 }] })
})

test('answers pass through with their status and headers; Location becomes public; personal answers are private', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  upstream.state.respond = (_req, res) => {
    res
      .writeHead(201, {
        'content-type': 'application/json',
        location: '/orders/42',
        etag: '"1"',
        'set-cookie': 'x=1'
      })
      .end('{"id":"42"}')
  }
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/orders',
    headers: { authorization: `Bearer ${await idp.sign({})}`, 'idempotency-key': 'k' },
    payload: {}
  })
  assert.equal(res.statusCode, 201)
  assert.equal(res.headers.location, '/api/v1/orders/42')
  assert.equal(res.headers.etag, '"1"')
  assert.equal(res.headers['set-cookie'], undefined)
  assert.equal(res.headers['cache-control'], 'private, no-store')
  assert.equal(res.body, '{"id":"42"}')
  assert.equal(res.headers['x-content-type-options'], 'nosniff') // security headers
})

test('admin routes need the admin role; services’ internal endpoints are not reachable at all', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })
  const customer = await idp.sign({ roles: ['customer'] })
  const admin = await idp.sign({ sub: 'root', roles: ['customer', 'admin'] })

  const denied = await app.inject({
    method: 'POST',
    url: '/api/v1/products',
    headers: { authorization: `Bearer ${customer}` },
    payload: {}
  })
  assert.equal(denied.statusCode, 403)
  assert.equal((denied.json() as { code: string }).code, 'FORBIDDEN')
  const anonymous = await app.inject({ method: 'POST', url: '/api/v1/products', payload: {} })
  assert.equal(anonymous.statusCode, 401)
  assert.equal(upstream.seen.length, 0)
  const allowed = await app.inject({
    method: 'POST',
    url: '/api/v1/products',
    headers: { authorization: `Bearer ${admin}` },
    payload: {}
  })
  assert.equal(allowed.statusCode, 200)
  assert.equal(upstream.seen[0]!.headers['x-user-roles'], 'customer,admin')

  for (const url of ['/products', '/api/v1/health/ready']) {
    const res = await app.inject({ method: 'GET', url })
    assert.equal(res.statusCode, 404, url)
    assert.equal(res.json().code, 'ROUTE_NOT_FOUND')
  }
  // The batch lookup's path is a product's: no POST there, and the methods it has are said.
  const batch = await app.inject({ method: 'POST', url: '/api/v1/products/batch', payload: {} })
  assert.equal(batch.statusCode, 405)
  assert.equal(batch.json().code, 'METHOD_NOT_ALLOWED')
  assert.equal(batch.headers.allow, 'GET, PUT, PATCH, DELETE, HEAD')
  assert.equal(upstream.seen.length, 1)
})

test('rate limit: 429 with Retry-After after the limit, shared by gateway instances; a second user is unaffected', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const env = {
    JWT_JWKS: idp.jwks,
    RATE_LIMIT_MAX: '3',
    RATE_LIMIT_WINDOW_MS: '60000',
    RATE_LIMIT_NAMESPACE: `ratelimit-test-${randomUUID()}:` // both instances count together
  }
  const [a, b] = [await gateway(t, upstream.url, env), await gateway(t, upstream.url, env)]
  const user = `u${randomUUID().slice(0, 8)}` // a fresh counter in the shared Redis
  const userA = { authorization: `Bearer ${await idp.sign({ sub: user })}` }
  const userB = { authorization: `Bearer ${await idp.sign({ sub: `${user}b` })}` }

  const codes = []
  for (const app of [a, b, a])
    codes.push((await app.inject({ url: '/api/v1/orders', headers: userA })).statusCode)
  assert.deepEqual(codes, [200, 200, 200])
  const limited = await b.inject({ url: '/api/v1/orders', headers: userA })
  assert.equal(limited.statusCode, 429)
  assert.equal((limited.json() as { code: string }).code, 'RATE_LIMITED')
  assert.ok(Number(limited.headers['retry-after']) > 0)
  assert.equal(limited.headers['x-ratelimit-limit'], '3')
  assert.equal(limited.headers['x-ratelimit-remaining'], '0')
  assert.equal((await a.inject({ url: '/api/v1/orders', headers: userB })).statusCode, 200)
  assert.equal(upstream.seen.length, 4)
})

test('with Redis down the limit is counted per instance, and requests are still served', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const redis = await privateRedis()
  const app = await gateway(t, upstream.url, {
    JWT_JWKS: idp.jwks,
    RATE_LIMIT_MAX: '2',
    REDIS_URL: redis.url
  })
  await redis.stop()
  const headers = { authorization: `Bearer ${await idp.sign({})}` }
  const codes = []
  for (let i = 0; i < 3; i++) codes.push((await app.inject({ url: '/api/v1/orders', headers })).statusCode)
  assert.deepEqual(codes, [200, 200, 429])
})

test('the development issuer is off unless configured; on, it signs tokens the gateway accepts', async (t) => {
  const upstream = await recordingService(t)
  const idp = await identityProvider()
  const off = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })
  const login = { username: 'alice', password: 'demo' }
  assert.equal(
    (await off.inject({ method: 'POST', url: '/api/v1/auth/token', payload: login })).statusCode,
    404
  )

  const dev = await identityProvider('dev')
  const on = await gateway(t, upstream.url, {
    DEV_TOKENS_PRIVATE_JWK: JSON.stringify({ ...dev.privateJwk, kid: 'dev', alg: 'ES256' })
  })
  const wrong = await on.inject({
    method: 'POST',
    url: '/api/v1/auth/token',
    payload: { username: 'alice', password: 'nope' }
  })
  assert.equal(wrong.statusCode, 401)
  assert.equal((wrong.json() as { code: string }).code, 'INVALID_CREDENTIALS')
  const unknown = await on.inject({
    method: 'POST',
    url: '/api/v1/auth/token',
    payload: { username: 'eve', password: 'demo' }
  })
  assert.equal(unknown.statusCode, 401)
  const issued = await on.inject({ method: 'POST', url: '/api/v1/auth/token', payload: login })
  assert.equal(issued.statusCode, 200)
  const { accessToken, tokenType } = issued.json() as { accessToken: string; tokenType: string }
  assert.equal(tokenType, 'Bearer')
  const res = await on.inject({ url: '/api/v1/orders', headers: { authorization: `Bearer ${accessToken}` } })
  assert.equal(res.statusCode, 200)
  assert.equal(upstream.seen.at(-1)!.headers['x-user-id'], 'alice')
})

test('a service that is down is a quick 503 with Retry-After', async (t) => {
  const idp = await identityProvider()
  const app = await gateway(t, 'http://127.0.0.1:9', { JWT_JWKS: idp.jwks })
  const res = await app.inject({ url: '/api/v1/products' })
  assert.equal(res.statusCode, 503)
  assert.ok(Number(res.headers['retry-after']) >= 1)
  assert.match((res.json() as { code: string }).code, /^UPSTREAM_/)
})

test('Server-Sent Events stream through unbuffered, with the caller’s identity and Last-Event-ID', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  upstream.state.respond = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-accel-buffering': 'no' })
    res.write('id: 7\nevent: notification\ndata: {}\n\n')
  }
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const abort = new AbortController()
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/notifications/stream`, {
    headers: { authorization: `Bearer ${await idp.sign({})}`, 'last-event-id': '6' },
    signal: abort.signal
  })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'text/event-stream')
  assert.equal(res.headers.get('x-accel-buffering'), 'no')
  const reader = res.body!.getReader()
  const { value } = await reader.read()
  assert.match(new TextDecoder().decode(value), /^id: 7\nevent: notification/)
  abort.abort()
  assert.equal(upstream.seen[0]!.headers['last-event-id'], '6')
  assert.equal(upstream.seen[0]!.headers['x-user-id'], 'alice')
})

test('OpenAPI documents the public routes only; CORS answers allowed origins only', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks, CORS_ORIGINS: 'https://shop.example' })
  const spec = (await app.inject({ url: '/api/docs/json' })).json() as {
    openapi: string
    paths: Record<string, Record<string, { security?: unknown }>>
  }
  // What it serves is the committed document (libs/contracts/generated, checked in npm test).
  assert.deepEqual(
    spec,
    JSON.parse(
      readFileSync(new URL('../../../libs/contracts/generated/openapi.json', import.meta.url), 'utf8')
    )
  )
  assert.match(spec.openapi, /^3\./)
  assert.ok(spec.paths['/api/v1/products/{id}']?.get)
  assert.ok(spec.paths['/api/v1/orders']?.post?.security)
  assert.ok(spec.paths['/api/v1/notifications/stream']?.get)
  assert.equal(spec.paths['/health/ready'], undefined)
  assert.equal(spec.paths['/metrics'], undefined)
  const page = await app.inject({ url: '/api/docs' })
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /swagger-ui/i)

  const preflight = (origin: string) =>
    app.inject({
      method: 'OPTIONS',
      url: '/api/v1/orders',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization'
      }
    })
  assert.equal(
    (await preflight('https://shop.example')).headers['access-control-allow-origin'],
    'https://shop.example'
  )
  assert.equal((await preflight('https://evil.example')).headers['access-control-allow-origin'], undefined)
})

test('configuration: HMAC or none in the algorithm list, or no keys at all, stop the gateway at start', async () => {
  const { readConfig } = await import('../src/config.ts')
  assert.throws(
    () =>
      readConfig({
        REDIS_URL: 'redis://x',
        CONSUL_URL: 'http://c',
        JWT_JWKS: '{"keys":[]}',
        JWT_ALGORITHMS: 'RS256,HS256,none'
      }),
    /JWT_ALGORITHMS: HS256, none not allowed/
  )
  assert.throws(() => readConfig({ REDIS_URL: 'redis://x', CONSUL_URL: 'http://c' }), /JWT_JWKS: missing/)
  assert.throws(
    () => readConfig({ REDIS_URL: 'redis://x', JWT_JWKS: '{"keys":[]}' }),
    /CATALOG_URL: missing[\s\S]*ORDER_URL[\s\S]*NOTIFICATION_URL/
  )
})

test('a PATCH reaches the service as sent: schema defaults belong to creation', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/v1/products/${productId}`,
    headers: { authorization: `Bearer ${await idp.sign({ roles: ['admin'] })}`, 'if-match': '"1"' },
    payload: { stock: 3 }
  })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(JSON.parse(upstream.seen[0]!.body), { stock: 3 })
})

test('with Consul, the gateway is ready only once Consul has told it where every service is', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks, CONSUL_URL: stack.consul.url })
  // app.ready() has run: the first answers are in, so the first caller can be routed.
  const ready = await app.inject({ url: '/health/ready' })
  assert.equal(ready.json().checks.discovery.status, 'ok', ready.body)
})

test('one caller holds at most STREAMS_PER_USER streams (429 beyond); others and regular calls are unaffected', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  upstream.state.respond = (req, res) => {
    if (!req.url.endsWith('/stream'))
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write(': open\n\n')
  }
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks, STREAMS_PER_USER: '2' })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1`
  const [alice, bob] = [await idp.sign({ sub: 'alice' }), await idp.sign({ sub: 'bob' })]
  const aborts: AbortController[] = []
  t.after(() => aborts.forEach((a) => a.abort()))
  const open = async (bearer: string) => {
    const abort = new AbortController()
    aborts.push(abort)
    const res = await fetch(`${base}/notifications/stream`, {
      headers: { authorization: `Bearer ${bearer}` },
      signal: abort.signal
    })
    return { res, abort }
  }
  const first = await open(alice)
  const second = await open(alice)
  assert.deepEqual([first.res.status, second.res.status], [200, 200])
  const third = await open(alice)
  assert.equal(third.res.status, 429)
  assert.equal(((await third.res.json()) as { code: string }).code, 'TOO_MANY_STREAMS')
  assert.ok(Number(third.res.headers.get('retry-after')) > 0)
  assert.equal((await open(bob)).res.status, 200) // another caller
  const regular = await fetch(`${base}/notifications`, { headers: { authorization: `Bearer ${alice}` } })
  assert.equal(regular.status, 200)

  first.abort.abort() // closing one frees its place
  await eventually(2000, 'a place for a new stream', async () => {
    const again = await open(alice)
    if (again.res.status === 200) return true
    await again.res.arrayBuffer()
    return undefined
  })
})

test('a service known only by its manifest: its prefix is forwarded as declared, the service found through Consul', async (t) => {
  const idp = await identityProvider()
  const billing = await recordingService(t)
  const name = `billing-${randomUUID().slice(0, 8)}`
  const consul = createConsul(stack.consul.url)
  const { port } = new URL(billing.url)
  const registration = await registerService(consul, {
    name,
    address: '127.0.0.1',
    port: Number(port),
    checkPath: '/health/ready',
    checkIntervalSeconds: 1,
    initialStatus: 'passing'
  })
  t.after(() => registration.deregister())
  const app = await gateway(
    t,
    'http://127.0.0.1:1',
    { JWT_JWKS: idp.jwks, CONSUL_URL: stack.consul.url },
    { serviceRoutes: [{ service: name, prefix: '/api/v1/invoices', access: 'user', stream: false }] }
  )
  const token = await idp.sign({ sub: 'alice' })

  const anonymous = await app.inject({ url: '/api/v1/invoices' })
  assert.equal(anonymous.statusCode, 401) // the manifest says user
  const list = await app.inject({
    url: '/api/v1/invoices?limit=2',
    headers: { authorization: `Bearer ${token}` }
  })
  assert.equal(list.statusCode, 200)
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/invoices/2026/11',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: { amount: 12 }
  })
  assert.equal(created.statusCode, 200)

  const [first, second] = billing.seen.filter((r) => !r.url.startsWith('/health'))
  assert.deepEqual([first!.method, first!.url], ['GET', '/invoices?limit=2'])
  assert.deepEqual(
    [second!.method, second!.url, second!.body],
    ['POST', '/invoices/2026/11', '{"amount":12}']
  )
  assert.equal(second!.headers['x-user-id'], 'alice')
  assert.equal(
    (await app.inject({ url: '/api/v1/invoicesx', headers: { authorization: `Bearer ${token}` } }))
      .statusCode,
    404
  )
})

test('the admin overview: admin only, instances from Consul, figures from Prometheus, a source away said so', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const admin = await idp.sign({ sub: 'root', roles: ['customer', 'admin'] })
  const customer = await idp.sign({ roles: ['customer'] })
  const env = { JWT_JWKS: idp.jwks, CONSUL_URL: stack.consul.url }
  const read = async (app: FastifyInstance, token: string) => {
    const res = await app.inject({
      url: '/api/v1/admin/overview',
      headers: { authorization: `Bearer ${token}` }
    })
    return { status: res.statusCode, body: res.json() as Overview }
  }

  const live = await gateway(t, upstream.url, { ...env, PROMETHEUS_URL: stack.prometheus.url })
  assert.equal((await read(live, customer)).status, 403)
  const { status, body } = await read(live, admin)
  assert.equal(status, 200)
  assert.deepEqual(body.sources, { consul: true, prometheus: true })
  assert.deepEqual(body.services.map((s) => s.name).sort(), ['catalog', 'gateway', 'notification', 'order'])
  for (const s of body.services) assert.equal(typeof s.requestsPerSecond, 'number', s.name)
  assert.ok(body.links.some((l) => l.kind === 'event' && l.from === 'order' && l.topic === 'order.events'))
  assert.ok(body.links.some((l) => l.kind === 'http' && l.from === 'order' && l.to === 'catalog'))
  assert.equal(upstream.seen.length, 0) // the gateway reads Consul and Prometheus itself

  // Prometheus away: figures unknown (null, never 0) and said; Consul still answers.
  const blind = await gateway(t, upstream.url, { ...env, PROMETHEUS_URL: 'http://127.0.0.1:9' })
  const away = (await read(blind, admin)).body
  assert.deepEqual(away.sources, { consul: true, prometheus: false })
  assert.ok(
    away.services.every(
      (s) => s.requestsPerSecond === null && s.p99Seconds === null && s.consumerLag === null
    )
  )
})

test('dead-letter admin routes reach the owning service (which validates them) with the caller’s identity; customers get 403', async (t) => {
  const idp = await identityProvider()
  const upstream = await recordingService(t)
  const app = await gateway(t, upstream.url, { JWT_JWKS: idp.jwks })
  const admin = await idp.sign({ sub: 'root', roles: ['customer', 'admin'] })
  const customer = await idp.sign({ roles: ['customer'] })
  const path = '/api/v1/admin/services/notification/dead-letters'
  assert.equal(
    (await app.inject({ url: path, headers: { authorization: `Bearer ${customer}` } })).statusCode,
    403
  )
  const list = await app.inject({
    url: `${path}?key=k1&limit=5`,
    headers: { authorization: `Bearer ${admin}` }
  })
  assert.equal(list.statusCode, 200)
  const replay = await app.inject({
    method: 'POST',
    url: `${path}/order.events.dlq/2/17/replay`,
    headers: { authorization: `Bearer ${admin}` }
  })
  assert.equal(replay.statusCode, 200)
  assert.deepEqual(
    upstream.seen.map((r) => [r.method, r.url, r.headers['x-user-roles']]),
    [
      ['GET', '/admin/dead-letters?key=k1&limit=5', 'customer,admin'],
      ['POST', '/admin/dead-letters/order.events.dlq/2/17/replay', 'customer,admin']
    ]
  )
})
