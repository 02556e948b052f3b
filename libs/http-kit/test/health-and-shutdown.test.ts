import assert from 'node:assert/strict'
import { test } from 'node:test'
import { kitApp } from './helpers.ts'

test('/health/live answers 200 while a dependency check fails; /health/ready 503 names it', async (t) => {
  const { app } = await kitApp()
  t.after(() => app.close())
  app.readiness.register('postgres', async () => {})
  app.readiness.register('kafka', async () => {
    throw new Error('broker unreachable')
  })

  const live = await app.inject({ url: '/health/live' })
  assert.equal(live.statusCode, 200)

  const ready = await app.inject({ url: '/health/ready' })
  assert.equal(ready.statusCode, 503)
  assert.equal(ready.json().status, 'unavailable')
  assert.equal(ready.json().checks.postgres.status, 'ok')
  assert.deepEqual(
    [ready.json().checks.kafka.status, ready.json().checks.kafka.error],
    ['failed', 'broker unreachable']
  )
})

test('a check that hangs fails at its timeout and is aborted', async (t) => {
  const { app } = await kitApp()
  t.after(() => app.close())
  let aborted = false
  app.readiness.register(
    'slow',
    (signal) =>
      new Promise(() => {
        signal.addEventListener('abort', () => (aborted = true))
      }),
    { timeoutMs: 50 }
  )

  const started = Date.now()
  const ready = await app.inject({ url: '/health/ready' })

  assert.equal(ready.statusCode, 503)
  assert.equal(ready.json().checks.slow.error, 'no answer within 50 ms')
  assert.ok(Date.now() - started < 1000)
  assert.equal(aborted, true)
})

test('readiness answers from a short cache: probes within the window run each check once', async (t) => {
  const { app } = await kitApp({ readinessCacheMs: 200 })
  t.after(() => app.close())
  let calls = 0
  app.readiness.register('counted', async () => {
    calls++
  })

  await Promise.all([1, 2, 3].map(() => app.inject({ url: '/health/ready' })))
  await app.inject({ url: '/health/ready' })
  assert.equal(calls, 1)

  await new Promise((resolve) => setTimeout(resolve, 250))
  await app.inject({ url: '/health/ready' })
  assert.equal(calls, 2)
})

test('a saturated event loop sheds requests with 503 OVERLOADED and Retry-After; probes still answer', async (t) => {
  const { app } = await kitApp(
    { loadShedding: { maxEventLoopUtilization: 0.8, sampleIntervalMs: 100, retryAfterSeconds: 2 } },
    (a) => a.get('/work', async () => ({ ok: true }))
  )
  t.after(() => app.close())
  assert.equal((await app.inject({ url: '/work' })).statusCode, 200)

  // Keep the loop busy for 600 ms: whatever the sampler's phase, the interval it measures next is
  // at least 600/700 busy, above the 0.8 limit. The request lands before the sample after that.
  const until = Date.now() + 600
  while (Date.now() < until);
  await new Promise((resolve) => setTimeout(resolve, 20))

  const shed = await app.inject({ url: '/work' })
  assert.equal(shed.statusCode, 503)
  assert.equal(shed.headers['retry-after'], '2')
  assert.equal(shed.json().code, 'OVERLOADED')
  assert.equal((await app.inject({ url: '/health/live' })).statusCode, 200)
  assert.equal((await app.inject({ url: '/metrics' })).statusCode, 200)
})

test('beyond maxInFlight a request is refused at once with 503 OVERLOADED; streams, probes and ended requests free their slot', async (t) => {
  const held = new Map<string, () => void>()
  const { app } = await kitApp({ loadShedding: { maxInFlight: 2, retryAfterSeconds: 3 } }, (a) => {
    a.get<{ Querystring: { id: string } }>('/slow', (request, reply) => {
      held.set(request.query.id, () => void reply.send({ ok: true }))
    })
    a.get('/stream', { config: { longLived: true } }, (_request, reply) => {
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream' })
      reply.raw.write(': open\n\n')
      held.set('stream', () => reply.raw.end())
    })
  })
  t.after(() => app.close())
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const waitHeld = async (n: number) => {
    while (held.size < n) await new Promise((resolve) => setTimeout(resolve, 5))
  }

  // A stream doesn't count; two slow requests fill the slots.
  const stream = await fetch(`${url}/stream`)
  assert.equal(stream.status, 200)
  const first = fetch(`${url}/slow?id=first`)
  const aborted = new AbortController()
  const second = fetch(`${url}/slow?id=second`, { signal: aborted.signal }).catch(() => 'aborted')
  await waitHeld(3)

  const refused = await fetch(`${url}/slow?id=refused`)
  assert.equal(refused.status, 503)
  assert.equal(refused.headers.get('retry-after'), '3')
  assert.equal(((await refused.json()) as { code: string }).code, 'OVERLOADED')
  assert.equal((await fetch(`${url}/health/live`)).status, 200)
  assert.equal((await fetch(`${url}/metrics`)).status, 200)

  // A client that gives up frees its slot as surely as an answer does.
  aborted.abort()
  assert.equal(await second, 'aborted')
  held.get('first')!()
  assert.equal((await first).status, 200)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const again = [fetch(`${url}/slow?id=a`), fetch(`${url}/slow?id=b`)]
  await waitHeld(5)
  assert.equal((await fetch(`${url}/slow?id=c`)).status, 503)
  held.get('a')!()
  held.get('b')!()
  assert.deepEqual(
    (await Promise.all(again)).map((r) => r.status),
    [200, 200]
  )
  held.get('stream')!()
  await stream.body?.cancel()
})

test(
  'shutdown runs in order: not ready, deregister, drain in-flight, stop consumers, flush, close pools',
  { timeout: 20_000 },
  async (t) => {
    const order: string[] = []
    let releaseSlow: () => void = () => {}
    const { app } = await kitApp({}, (a) =>
      a.get('/slow', async () => {
        await new Promise<void>((resolve) => (releaseSlow = resolve))
        order.push('in-flight request finished')
        return { ok: true }
      })
    )
    await app.listen({ host: '127.0.0.1', port: 0 })
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
    t.after(() => app.close())
    for (const phase of ['closePools', 'flush', 'stopConsumers', 'deregister'] as const) {
      app.lifecycle.onShutdown(phase, async () => {
        if (phase === 'deregister') {
          order.push(`shuttingDown=${app.lifecycle.shuttingDown}`)
          setTimeout(() => releaseSlow(), 50)
        }
        order.push(phase)
      })
    }

    const inFlight = fetch(`${base}/slow`)
    await new Promise((resolve) => setTimeout(resolve, 50)) // the request is being handled
    await app.close()

    const response = await inFlight
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('connection'), 'close') // or the keep-alive socket would hold close()
    assert.deepEqual(order, [
      'shuttingDown=true',
      'deregister',
      'in-flight request finished',
      'stopConsumers',
      'flush',
      'closePools'
    ])
  }
)

test('while draining, requests that still arrive are served (with Connection: close), not refused', async (t) => {
  const { app } = await kitApp({ drainDelayMs: 400 }, (a) => a.get('/work', async () => ({ ok: true })))
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  t.after(() => app.close())
  assert.equal((await fetch(`${base}/work`)).status, 200) // a keep-alive connection, as an edge holds

  const closing = app.close()
  await new Promise((resolve) => setTimeout(resolve, 100)) // deregistered, not ready, draining
  const late = await fetch(`${base}/work`)
  assert.equal(late.status, 200) // traffic still routed here while others learn it is gone
  assert.equal(late.headers.get('connection'), 'close')
  assert.equal((await fetch(`${base}/health/ready`)).status, 503)
  await closing
})
