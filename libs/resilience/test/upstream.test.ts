import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { test } from 'node:test'
import { createMetrics, readSample } from '@platform/metrics'
import {
  backoffDelay,
  createRetryBudget,
  createUpstream,
  isIdempotent,
  UpstreamUnavailableError,
  type UpstreamOptions
} from '../src/index.ts'
import { json, testServer } from './servers.ts'

function upstream(instances: string[], extra: Partial<UpstreamOptions> = {}) {
  const metrics = createMetrics({ service: 'test', processMetrics: false })
  const client = createUpstream({
    name: 'catalog',
    instances: () => instances,
    metrics,
    retryBaseMs: 1,
    retryMaxMs: 5,
    ...extra
  })
  return { client, metrics }
}

const fastBreaker = { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 200 }

test('answers come back parsed, with the instance that served them', async (t) => {
  const server = await testServer()
  server.handle = (req, res) => json(res, 200, { path: req.url, method: req.method })
  const { client } = upstream([server.url])
  t.after(() => Promise.all([client.close(), server.close()]))

  const res = await client.request<{ path: string }>({
    method: 'POST',
    path: '/products/batch',
    body: { ids: [1] }
  })

  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.body, { path: '/products/batch', method: 'POST' })
  assert.equal(res.instance, server.url)
})

test('only idempotent calls are retried', async (t) => {
  const server = await testServer()
  let failuresLeft = 0
  server.handle = (_req, res) =>
    failuresLeft-- > 0 ? json(res, 503, { code: 'OVERLOADED' }) : json(res, 200, { ok: true })
  const { client } = upstream([server.url])
  t.after(() => Promise.all([client.close(), server.close()]))

  failuresLeft = 1
  server.hits = 0
  assert.equal((await client.request({ method: 'GET', path: '/x' })).statusCode, 200)
  assert.equal(server.hits, 2)

  failuresLeft = 1
  server.hits = 0
  assert.equal((await client.request({ method: 'POST', path: '/orders' })).statusCode, 503)
  assert.equal(server.hits, 1)

  failuresLeft = 1
  server.hits = 0
  assert.equal((await client.request({ method: 'POST', path: '/orders', idempotent: true })).statusCode, 200)
  assert.equal(server.hits, 2)

  assert.deepEqual(['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH'].map(isIdempotent), [
    true,
    true,
    true,
    true,
    false,
    false
  ])
})

test('a call that never reached an instance goes to another, a POST too; one that reached it is not repeated', async (t) => {
  const server = await testServer()
  server.handle = (req, res) =>
    req.url === '/reset' ? res.socket!.destroy() : json(res, 200, { ok: true, method: req.method })
  const gone = 'http://127.0.0.1:1' // nothing listens: the connection is refused, nothing was sent
  const { client } = upstream([gone, server.url])
  t.after(() => Promise.all([client.close(), server.close()]))

  for (let i = 0; i < 4; i++) {
    server.hits = 0
    const res = await client.request<{ method: string }>({ method: 'POST', path: '/orders/1/cancel' })
    assert.equal(res.statusCode, 200)
    assert.equal(res.body.method, 'POST')
    assert.equal(server.hits, 1, 'done once')
  }

  // Reached, then the connection dropped: it may have been done, so a POST is not sent again.
  const { client: direct } = upstream([server.url])
  t.after(() => direct.close())
  server.hits = 0
  await assert.rejects(
    direct.request({ method: 'POST', path: '/reset' }),
    (err: UpstreamUnavailableError) => err.code === 'UPSTREAM_UNREACHABLE'
  )
  assert.equal(server.hits, 1)
})

test('a timed-out call is cancelled: typed error, and the socket is closed rather than left busy', async (t) => {
  const server = await testServer()
  server.handle = () => {} // never answers
  const { client } = upstream([server.url], { timeoutMs: 100, retries: 0 })
  t.after(() => Promise.all([client.close(), server.close()]))

  await assert.rejects(client.request({ method: 'GET', path: '/slow' }), (err: unknown) => {
    assert.ok(err instanceof UpstreamUnavailableError)
    assert.equal(err.code, 'UPSTREAM_TIMEOUT')
    assert.equal(err.statusCode, 503)
    return true
  })
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(server.closedSockets, 1)
})

test('failures open the breaker; an open breaker fails calls in well under 5 ms with the typed error', async (t) => {
  const server = await testServer()
  server.handle = (_req, res) => json(res, 500, { code: 'BOOM' })
  const { client, metrics } = upstream([server.url], { retries: 0, breaker: fastBreaker })
  t.after(() => Promise.all([client.close(), server.close()]))

  for (let i = 0; i < 4; i++)
    assert.equal((await client.request({ method: 'GET', path: '/x' })).statusCode, 500)
  const hitsWhenOpened = server.hits

  const durations: number[] = []
  for (let i = 0; i < 20; i++) {
    const started = performance.now()
    await assert.rejects(client.request({ method: 'GET', path: '/x' }), (err: unknown) => {
      assert.ok(err instanceof UpstreamUnavailableError)
      assert.equal(err.code, 'CIRCUIT_OPEN')
      assert.equal(err.retryAfterSeconds, 1)
      return true
    })
    durations.push(performance.now() - started)
  }
  durations.sort((a, b) => a - b)

  assert.equal(server.hits, hitsWhenOpened) // nothing reached the upstream
  assert.ok(durations[10]! < 5, `median ${durations[10]} ms`)
  const text = await metrics.registry.metrics()
  assert.equal(readSample(text, 'circuit_breaker_state', { upstream: 'catalog' }), 2)
})

test('half-open → closed once the upstream recovers', async (t) => {
  const server = await testServer()
  server.handle = (_req, res) => json(res, 500, {})
  const { client, metrics } = upstream([server.url], { retries: 0, breaker: fastBreaker })
  t.after(() => Promise.all([client.close(), server.close()]))
  for (let i = 0; i < 4; i++) await client.request({ method: 'GET', path: '/x' })
  await assert.rejects(client.request({ method: 'GET', path: '/x' }), /circuit open/)

  server.handle = (_req, res) => json(res, 200, { ok: true })
  await new Promise((resolve) => setTimeout(resolve, 250)) // past resetTimeoutMs: half-open

  assert.equal((await client.request({ method: 'GET', path: '/x' })).statusCode, 200)
  assert.equal((await client.request({ method: 'GET', path: '/x' })).statusCode, 200)
  const text = await metrics.registry.metrics()
  assert.equal(readSample(text, 'circuit_breaker_state', { upstream: 'catalog' }), 0)
  for (const state of ['open', 'half_open', 'closed']) {
    assert.equal(
      readSample(text, 'circuit_breaker_transitions_total', { upstream: 'catalog', state }),
      1,
      state
    )
  }
})

test('round-robin spreads calls and skips an instance whose breaker is open', async (t) => {
  const [a, b] = await Promise.all([testServer(), testServer()])
  const { client } = upstream([a.url, b.url], { retries: 0, breaker: fastBreaker })
  t.after(() => Promise.all([client.close(), a.close(), b.close()]))

  for (let i = 0; i < 4; i++) await client.request({ method: 'GET', path: '/x' })
  assert.deepEqual([a.hits, b.hits], [2, 2])

  b.handle = (_req, res) => json(res, 500, {})
  for (let i = 0; i < 8; i++) await client.request({ method: 'POST', path: '/x' })
  a.hits = 0
  b.hits = 0
  for (let i = 0; i < 6; i++)
    assert.equal((await client.request({ method: 'GET', path: '/x' })).statusCode, 200)
  assert.deepEqual([a.hits, b.hits], [6, 0])
})

test('beyond the concurrency cap calls fail at once; with no instance they fail typed', async (t) => {
  const server = await testServer()
  const pending: Array<() => void> = []
  server.handle = (_req, res) => pending.push(() => json(res, 200, {}))
  const { client } = upstream([server.url], { maxConcurrent: 2 })
  t.after(() => Promise.all([client.close(), server.close()]))

  const first = [client.request({ method: 'GET', path: '/1' }), client.request({ method: 'GET', path: '/2' })]
  await assert.rejects(
    client.request({ method: 'GET', path: '/3' }),
    (err: UpstreamUnavailableError) => err.code === 'UPSTREAM_BUSY'
  )
  while (pending.length < 2) await new Promise((resolve) => setTimeout(resolve, 5))
  pending.forEach((release) => release())
  await Promise.all(first)

  const { client: empty } = upstream([])
  t.after(() => empty.close())
  await assert.rejects(
    empty.request({ method: 'GET', path: '/' }),
    (err: UpstreamUnavailableError) => err.code === 'NO_HEALTHY_INSTANCE'
  )
})

test('unreachable instances give UPSTREAM_UNREACHABLE after the retries', async (t) => {
  const { client } = upstream(['http://127.0.0.1:1'])
  t.after(() => client.close())

  await assert.rejects(
    client.request({ method: 'GET', path: '/' }),
    (err: UpstreamUnavailableError) => err.code === 'UPSTREAM_UNREACHABLE'
  )
})

test('a 503 that reports a dependency of the upstream is passed on, not retried; the instance’s own failures are', async (t) => {
  const server = await testServer()
  let answer: [number, unknown] = [200, {}]
  let failuresLeft = 0
  server.handle = (_req, res) =>
    failuresLeft-- > 0 ? json(res, answer[0], answer[1]) : json(res, 200, { ok: true })
  const { client } = upstream([server.url])
  t.after(() => Promise.all([client.close(), server.close()]))

  const hitsFor = async (status: number, body: unknown) => {
    answer = [status, body]
    failuresLeft = 1
    server.hits = 0
    const res = await client.request<{ code?: string }>({ method: 'GET', path: '/x' })
    return { hits: server.hits, status: res.statusCode }
  }
  // Already retried below (or the same on every instance): one attempt, the answer passed on.
  assert.deepEqual(await hitsFor(503, { code: 'DEPENDENCY_UNAVAILABLE' }), { hits: 1, status: 503 })
  assert.deepEqual(await hitsFor(503, { code: 'UPSTREAM_TIMEOUT' }), { hits: 1, status: 503 })
  assert.deepEqual(await hitsFor(500, { code: 'INTERNAL_ERROR' }), { hits: 1, status: 500 })
  // The instance itself refused or failed: tried again.
  assert.deepEqual(await hitsFor(503, { code: 'OVERLOADED' }), { hits: 2, status: 200 })
  assert.deepEqual(await hitsFor(502, 'bad gateway'), { hits: 2, status: 200 })
  assert.deepEqual(await hitsFor(504, 'timeout'), { hits: 2, status: 200 })
})

test('a dependency’s 503 passed on by an instance never opens that instance’s breaker; its own failures do', async (t) => {
  const server = await testServer()
  let code = 'DEPENDENCY_UNAVAILABLE'
  server.handle = (_req, res) => json(res, 503, { code })
  const { client } = upstream([server.url], { breaker: fastBreaker, retries: 0 })
  t.after(() => Promise.all([client.close(), server.close()]))

  for (let i = 0; i < 20; i++)
    assert.equal((await client.request({ method: 'GET', path: '/' })).statusCode, 503)
  assert.equal(server.hits, 20, 'every call reached the instance: its breaker stayed closed')

  // The 20 answers above count as successes in the window: 50 % failures take 20 more.
  code = 'OVERLOADED'
  for (let i = 0; i < 40; i++) await client.request({ method: 'GET', path: '/' }).catch(() => undefined)
  assert.ok(server.hits < 60, 'its own refusals opened the breaker')
  await assert.rejects(
    client.request({ method: 'GET', path: '/' }),
    (err: UpstreamUnavailableError) => err.code === 'CIRCUIT_OPEN'
  )
})

test('Retry-After binds the instance that said it: another is tried at once, the same one only after it', async (t) => {
  const [busy, idle] = await Promise.all([testServer(), testServer()])
  const overloaded = (seconds: number) => (_req: unknown, res: ServerResponse) => {
    res.setHeader('retry-after', String(seconds))
    json(res, 503, { code: 'OVERLOADED' })
  }
  busy.handle = overloaded(1)
  t.after(() => Promise.all([busy.close(), idle.close()]))

  // Two instances: the retry goes to the other one without waiting.
  const pair = upstream([busy.url, idle.url], { retryMaxMs: 2000 })
  t.after(() => pair.client.close())
  for (let i = 0; i < 4; i++) {
    const started = performance.now()
    const res = await pair.client.request({ method: 'GET', path: '/' })
    assert.equal(res.instance, idle.url)
    assert.ok(performance.now() - started < 500, 'no wait for Retry-After when another instance serves')
  }

  // One instance: the retry waits the second it asked for.
  let calls = 0
  busy.handle = (req, res) => (calls++ === 0 ? overloaded(1)(req, res) : json(res, 200, { ok: true }))
  const single = upstream([busy.url], { retryMaxMs: 2000 })
  t.after(() => single.client.close())
  const started = performance.now()
  assert.equal((await single.client.request({ method: 'GET', path: '/' })).statusCode, 200)
  assert.ok(performance.now() - started >= 990, 'the retry waited for Retry-After')

  // A Retry-After longer than the client waits: its answer is passed on, Retry-After included.
  busy.handle = overloaded(30)
  busy.hits = 0
  const res = await single.client.request({ method: 'GET', path: '/' })
  assert.equal(res.statusCode, 503)
  assert.equal(res.headers['retry-after'], '30')
  assert.equal(busy.hits, 1)
})

test('the retry budget: retries stay within their share of the calls, so a failing upstream sees no storm', async (t) => {
  const server = await testServer()
  server.handle = (_req, res) => json(res, 503, { code: 'OVERLOADED' })
  const { client, metrics } = upstream([server.url], {
    retryBudget: { ratio: 0.1, minPerSecond: 0 },
    breaker: { volumeThreshold: 1_000_000 } // the budget alone, not the breaker, limits retries here
  })
  t.after(() => Promise.all([client.close(), server.close()]))

  for (let i = 0; i < 200; i++) await client.request({ method: 'GET', path: '/' })

  // Without the budget every call would have been tried 3 times (600 hits).
  assert.ok(server.hits <= 220, `${server.hits} hits for 200 calls`)
  assert.ok(server.hits >= 200)
  const text = await metrics.registry.metrics()
  assert.equal(
    readSample(text, 'upstream_retries_total', { upstream: 'catalog', outcome: 'sent' }),
    server.hits - 200
  )
  assert.ok(
    readSample(text, 'upstream_retries_total', { upstream: 'catalog', outcome: 'budget_exhausted' })! > 0
  )
})

test('the retry budget refills as the window moves on, and a quiet client keeps a floor', () => {
  let now = 0
  const budget = createRetryBudget({ ratio: 0.5, minPerSecond: 1, windowMs: 1000, now: () => now })
  // A floor of 1 retry per window without any call.
  assert.equal(budget.tryRetry(), true)
  assert.equal(budget.tryRetry(), false)
  // 10 calls: 1 + 5 retries in the window.
  for (let i = 0; i < 10; i++) budget.recordCall()
  const granted = Array.from({ length: 10 }, () => budget.tryRetry()).filter(Boolean).length
  assert.equal(granted, 5)
  // A window later, the counts are gone: the floor again.
  now = 1100
  assert.equal(budget.tryRetry(), true)
  assert.equal(budget.tryRetry(), false)
})

test('backoff is full jitter under an exponential cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((n) => backoffDelay(n, 50, 1000, () => 0.999)),
    [49, 99, 199, 399, 999]
  )
  assert.equal(
    backoffDelay(5, 50, 1000, () => 0),
    0
  )
})

test('a proxy passes bytes both ways: a raw body goes as sent, parse: false answers with the bytes', async (t) => {
  const server = await testServer()
  server.handle = (req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => json(res, 201, { got: body, type: req.headers['content-type'] }))
  }
  const { client } = upstream([server.url])
  t.after(() => Promise.all([client.close(), server.close()]))

  const res = await client.request<Buffer>({
    method: 'POST',
    path: '/orders',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from('{"lines":[]}'),
    parse: false
  })
  assert.equal(res.statusCode, 201)
  assert.ok(Buffer.isBuffer(res.body))
  assert.deepEqual(JSON.parse(res.body.toString()), { got: '{"lines":[]}', type: 'application/json' })
})

test('a stream: headers within the timeout, then the body flows until the caller aborts', async (t) => {
  const server = await testServer()
  let closedByClient = false
  server.handle = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.write('data: one\n\n')
    const timer = setInterval(() => res.write('data: tick\n\n'), 20)
    req.on('close', () => {
      clearInterval(timer)
      closedByClient = true
    })
  }
  const { client } = upstream([server.url], { timeoutMs: 100 })
  t.after(() => Promise.all([client.close(), server.close()]))

  const abort = new AbortController()
  const stream = await client.stream({ method: 'GET', path: '/stream', signal: abort.signal })
  assert.equal(stream.statusCode, 200)
  let text = ''
  stream.body.on('data', (c: Buffer) => (text += c.toString()))
  stream.body.on('error', () => {})
  await new Promise((resolve) => setTimeout(resolve, 300)) // well past the 100 ms timeout
  assert.match(text, /^data: one\n\n(data: tick\n\n){3,}/)
  abort.abort()
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(closedByClient, true)
})

test('a stream whose headers don\u2019t come in time fails typed, and so does one with no instance', async (t) => {
  const server = await testServer()
  server.handle = () => {} // never answers
  const { client } = upstream([server.url], { timeoutMs: 50 })
  t.after(() => Promise.all([client.close(), server.close()]))
  await assert.rejects(client.stream({ method: 'GET', path: '/stream' }), { code: 'UPSTREAM_TIMEOUT' })
  const none = upstream([])
  await assert.rejects(none.client.stream({ method: 'GET', path: '/x' }), { code: 'NO_HEALTHY_INSTANCE' })
})

test('open streams never hold the connections regular calls need', async (t) => {
  const server = await testServer()
  const held: Array<() => void> = []
  server.handle = (req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: open\n\n')
      held.push(() => res.end())
      return
    }
    json(res, 200, { ok: true })
  }
  // Two connections for calls: a shared pool would be full after the second stream.
  const { client } = upstream([server.url], { connectionsPerInstance: 2, timeoutMs: 500 })
  t.after(async () => {
    held.forEach((end) => end())
    await Promise.all([client.close(), server.close()])
  })
  const aborts = Array.from({ length: 10 }, () => new AbortController())
  const streams = await Promise.all(
    aborts.map((a) => client.stream({ method: 'GET', path: '/stream', signal: a.signal }))
  )
  t.after(() => aborts.forEach((a) => a.abort()))
  streams.forEach((s) => s.body.on('error', () => {}))
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => client.request({ method: 'GET', path: '/thing' }))
  )
  assert.deepEqual(
    answers.map((a) => a.statusCode),
    [200, 200, 200, 200, 200]
  )
})
