// Traffic splits in a gateway of this process, against the real Consul (KV and discovery), with
// the split keys under a prefix of the test's own: changed at run time, what is repeated on the
// upstream when the target fails, and the guard's rollback written back for every instance.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test, type TestContext } from 'node:test'
import { createConsul, readKey, registerService } from '@platform/discovery'
import { readSample } from '@platform/metrics'
import { eventually, stack } from '@platform/testing'
import { gateway, identityProvider, recordingService } from './helpers.ts'

const consul = createConsul(stack.consul.url)

/** A recording service registered in Consul under `name`. */
async function registered(t: TestContext, name: string) {
  const service = await recordingService(t)
  const registration = await registerService(consul, {
    name,
    address: '127.0.0.1',
    port: Number(new URL(service.url).port),
    checkIntervalSeconds: 1,
    initialStatus: 'passing'
  })
  t.after(() => registration.deregister())
  const calls = () => service.seen.filter((r) => !r.url.startsWith('/health'))
  return { ...service, calls }
}

/** A service and its second version in Consul, and a gateway forwarding /api/v1/ledger to it. */
async function setup(t: TestContext, { stream = false } = {}) {
  const name = `ledger-${randomUUID().slice(0, 8)}`
  const primary = await registered(t, name)
  const target = await registered(t, `${name}-v2`)
  const prefix = `test/splits-${randomUUID().slice(0, 8)}/`
  t.after(() => consul.kv.del({ key: prefix, recurse: true }))
  const idp = await identityProvider()
  const app = await gateway(
    t,
    'http://127.0.0.1:1',
    { JWT_JWKS: idp.jwks, CONSUL_URL: stack.consul.url, SPLITS_PREFIX: prefix },
    { serviceRoutes: [{ service: name, prefix: '/api/v1/ledger', access: 'user', stream }] }
  )
  const put = (split: unknown) => consul.kv.set({ key: `${prefix}${name}`, value: JSON.stringify(split) })
  const weight = async () =>
    readSample((await app.inject({ url: '/metrics' })).body, 'gateway_split_weight', { target: `${name}-v2` })
  const as = async (sub: string) => ({ authorization: `Bearer ${await idp.sign({ sub })}` })
  return { name, primary, target, prefix, app, put, weight, as }
}

test('a split changed in Consul reaches the gateway at run time: callers move by weight, sticky', async (t) => {
  const { name, primary, target, app, put, weight, as } = await setup(t)
  const callers = await Promise.all(Array.from({ length: 40 }, (_, i) => as(`caller-${i}`)))
  const ask = () =>
    Promise.all(callers.map((headers) => app.inject({ url: '/api/v1/ledger/entries', headers })))

  await put({ target: `${name}-v2`, weight: 100 })
  await eventually(5000, 'the split at 100 %', async () => ((await weight()) === 100 ? true : undefined))
  await eventually(5000, 'the target discovered', async () => {
    const before = target.calls().length
    await app.inject({ url: '/api/v1/ledger/entries', headers: callers[0]! })
    return target.calls().length > before ? true : undefined
  })
  target.seen.length = 0
  primary.seen.length = 0
  assert.ok((await ask()).every((r) => r.statusCode === 200))
  assert.equal(target.calls().length, 40)
  assert.equal(primary.calls().length, 0)

  await put({ target: `${name}-v2`, weight: 30 })
  await eventually(5000, 'the split at 30 %', async () => ((await weight()) === 30 ? true : undefined))
  target.seen.length = 0
  await ask()
  await ask()
  const moved = new Set(target.calls().map((r) => r.headers['x-user-id']))
  assert.ok(moved.size > 0 && moved.size < 40, `${moved.size} of 40 callers at 30 %`)
  assert.equal(target.calls().length, moved.size * 2, 'each moved caller, both times')

  // A value that is not a split is ignored: the last one stands.
  await put({ target: 'Not A Name!', weight: 500 })
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal(await weight(), 30)
})

test('a failing target: a GET or a keyed POST is answered by the upstream itself, a plain POST is not repeated; the guard takes it out for every instance', async (t) => {
  const { name, primary, target, prefix, app, put, weight, as } = await setup(t)
  // A bad version that passes its health checks (else discovery alone would keep it out).
  target.state.respond = (req, res) =>
    req.url.startsWith('/health')
      ? void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      : void res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"code":"INTERNAL_ERROR","message":"bad","requestId":"x"}')
  await put({ target: `${name}-v2`, weight: 100, guard: { minRequests: 4 } })
  await eventually(5000, 'the split at 100 %', async () => ((await weight()) === 100 ? true : undefined))
  const headers = await as('alice')
  await eventually(5000, 'the target discovered', async () => {
    await app.inject({ url: '/api/v1/ledger/warm-up', headers })
    return target.calls().length > 0 ? true : undefined
  })
  // That first call already failed on the target; three more, and the guard trips (4 of 4).
  const get = await app.inject({ url: '/api/v1/ledger/entries', headers })
  assert.equal(get.statusCode, 200, 'the GET answered by the upstream')
  assert.ok(primary.calls().some((r) => r.url === '/ledger/entries'))
  const post = (extra: Record<string, string>, amount: number) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/ledger/entries',
      headers: { ...headers, 'content-type': 'application/json', ...extra },
      payload: { amount }
    })
  const keyed = await post({ 'idempotency-key': randomUUID() }, 1)
  assert.equal(keyed.statusCode, 200, 'a POST with an Idempotency-Key answered by the upstream')
  const plain = await post({}, 2)
  assert.equal(plain.statusCode, 500, 'a POST without a key is not repeated elsewhere')
  assert.deepEqual(
    primary
      .calls()
      .filter((r) => r.method === 'POST')
      .map((r) => r.body),
    ['{"amount":1}']
  )

  // The guard tripped (3 failures of 3): the split is at 0 % here and in Consul, with the reason.
  await eventually(5000, 'the rollback in Consul', async () => {
    const entry = await readKey(consul, `${prefix}${name}`)
    const split = JSON.parse(entry!.value) as {
      weight: number
      rolledBack?: { reason: string; weight: number }
    }
    return split.weight === 0 ? split : undefined
  }).then((split) => {
    assert.match(split.rolledBack!.reason, /^error ratio 100\.0 % over \d+ requests/)
    assert.equal(split.rolledBack!.weight, 100)
  })
  assert.equal(await weight(), 0)
  const failures = target.calls().length
  assert.equal((await post({}, 3)).statusCode, 200)
  assert.equal(target.calls().length, failures, 'after the rollback the target gets nothing')
})

test('a stream the target cannot open is opened by the upstream itself', async (t) => {
  const { name, primary, target, put, app, as } = await setup(t, { stream: true })
  // The target passes its checks but drops every other connection before answering.
  target.state.respond = (req, res) =>
    req.url.startsWith('/health')
      ? void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
      : void res.socket?.destroy()
  primary.state.respond = (_req, res) =>
    void res.writeHead(200, { 'content-type': 'text/event-stream' }).end('id: 1\nevent: tick\ndata: {}\n\n')
  await put({ target: `${name}-v2`, weight: 100 })
  const headers = await as('alice')
  // Once discovery found the target, a request goes to it first: that request is the one checked.
  const tried = await eventually(5000, 'a stream the target was asked to open', async () => {
    const [targetBefore, primaryBefore] = [target.calls().length, primary.calls().length]
    const res = await app.inject({ url: '/api/v1/ledger/ticks', headers })
    return target.calls().length > targetBefore
      ? { res, opened: primary.calls().length - primaryBefore }
      : undefined
  })
  assert.equal(tried.res.statusCode, 200)
  assert.match(tried.res.body, /^id: 1\nevent: tick/)
  assert.equal(tried.opened, 1, 'opened by the upstream')
})
