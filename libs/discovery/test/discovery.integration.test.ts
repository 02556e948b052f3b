import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { test, type TestContext } from 'node:test'
import Fastify from 'fastify'
import { httpKit, serverOptions } from '@platform/http-kit'
import { createMetrics } from '@platform/metrics'
import { eventually, stack } from '@platform/testing'
import { createConsul, createResolver, discovery, registerService } from '../src/index.ts'
import { privateConsul } from './private-consul.ts'

const consul = createConsul(stack.consul.url)

async function instance(name: string, checkIntervalSeconds: number, initialStatus?: 'passing') {
  const app = Fastify(serverOptions({ logger: false }))
  await app.register(httpKit, { metrics: createMetrics({ service: name, processMetrics: false }) })
  await app.register(discovery, {
    consul,
    name,
    address: '127.0.0.1',
    checkIntervalSeconds,
    checkTimeoutSeconds: 1,
    ...(initialStatus ? { initialStatus } : {})
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` }
}

const sorted = (list: readonly string[]) => [...list].sort()

test('two registered instances resolve; one that stops answering is dropped within the check interval', async (t) => {
  const name = `svc-${randomUUID().slice(0, 8)}`
  const [a, b] = [await instance(name, 1), await instance(name, 1)]
  const resolver = createResolver({ consul, service: name, waitSeconds: 5 })
  t.after(async () => {
    resolver.stop()
    await a.app.close()
    await b.app.close().catch(() => {})
  })
  assert.equal(resolver.answered(), false) // nothing heard from Consul yet
  await resolver.ready()
  assert.equal(resolver.answered(), true)

  const both = await eventually(10_000, 'both instances passing', async () =>
    resolver.instances().length === 2 ? resolver.instances() : undefined
  )
  assert.deepEqual(sorted(both), sorted([a.url, b.url]))

  // A crash: the process stops answering and never deregisters.
  b.app.server.closeAllConnections()
  await new Promise((resolve) => b.app.server.close(resolve))
  const started = Date.now()
  const remaining = await eventually(10_000, 'the dead instance dropped', async () =>
    resolver.instances().length === 1 ? resolver.instances() : undefined
  )
  assert.deepEqual(remaining, [a.url])
  assert.ok(
    Date.now() - started < 5_000,
    `dropped after ${Date.now() - started} ms (check interval 1 s, timeout 1 s)`
  )
})

test('a shut-down instance is gone from Consul at once, not after the reaper minute', async (t) => {
  const name = `svc-${randomUUID().slice(0, 8)}`
  const a = await instance(name, 30, 'passing') // a check interval far longer than the test
  const resolver = createResolver({ consul, service: name, waitSeconds: 5 })
  t.after(async () => {
    resolver.stop()
    await a.app.close()
  })
  await eventually(10_000, 'instance passing', async () =>
    resolver.instances().length === 1 ? true : undefined
  )
  const id = a.app.registration?.id

  await a.app.close()

  const services = (await consul.agent.service.list()) as Record<string, unknown>
  assert.equal(id !== undefined && id in services, false)
  await eventually(2_000, 'resolution empty', async () =>
    resolver.instances().length === 0 ? true : undefined
  )
})

test('an instance registered at the address and port of one that crashed replaces it', async (t) => {
  // The private Consul goes with the test: nothing to deregister afterwards.
  const { client, name, port } = await privateSetup(t)
  const crashed = await registerService(client, {
    name,
    address: '127.0.0.1',
    port,
    resyncIntervalMs: 3_600_000
  })
  const other = await registerService(client, { name, address: '127.0.0.1', port: port + 1 })
  const restarted = await registerService(client, {
    name,
    address: '127.0.0.1',
    port,
    initialStatus: 'passing'
  })
  const held = Object.keys((await client.agent.service.list()) as Record<string, unknown>)
  assert.deepEqual(sorted(held.filter((id) => id.startsWith(name))), sorted([other.id, restarted.id]))
  assert.equal(held.includes(crashed.id), false)
})

/** A Consul of the test's own, a client of it, a fresh service name and an HTTP target to check. */
async function privateSetup(t: TestContext) {
  const own = await privateConsul()
  t.after(own.stop)
  const client = createConsul(own.url)
  const name = `svc-${randomUUID().slice(0, 8)}`
  const target = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve))
  t.after(() => target.close())
  return { own, client, name, port: (target.address() as { port: number }).port }
}

test('with Consul stopped, resolution keeps answering the last known instances', async (t) => {
  const { own, client, name, port } = await privateSetup(t)
  await registerService(client, {
    name,
    address: '127.0.0.1',
    port,
    checkPath: '/',
    initialStatus: 'passing'
  })
  const errors: Error[] = []
  const resolver = createResolver({
    consul: client,
    service: name,
    waitSeconds: 2,
    maxBackoffMs: 200,
    onError: (e) => errors.push(e)
  })
  t.after(() => resolver.stop())
  await resolver.ready()
  assert.deepEqual(resolver.instances(), [`http://127.0.0.1:${port}`])

  await own.stop()
  await eventually(10_000, 'the watch notices Consul is gone', async () =>
    errors.length > 0 ? true : undefined
  )

  assert.deepEqual(resolver.instances(), [`http://127.0.0.1:${port}`])
})

test('an instance Consul forgot (restarted without its data, or reaped) is registered again', async (t) => {
  const { own, client, name, port } = await privateSetup(t)
  let reregistered = 0
  const registration = await registerService(client, {
    name,
    address: '127.0.0.1',
    port,
    checkPath: '/',
    initialStatus: 'passing',
    resyncIntervalMs: 200,
    onReregistered: () => reregistered++
  })
  t.after(() => registration.deregister().catch(() => {}))
  const held = async () => registration.id in ((await client.agent.service.list()) as Record<string, unknown>)
  assert.equal(await held(), true)

  await own.restart() // the dev agent comes back empty
  await eventually(10_000, 'registered again after the restart', async () =>
    reregistered === 1 && (await held()) ? true : undefined
  )

  // The reaper's way of forgetting: the registration removed behind the instance's back.
  await client.agent.service.deregister(registration.id)
  await eventually(10_000, 'registered again after removal', async () =>
    reregistered === 2 && (await held()) ? true : undefined
  )

  // Deregistered by its owner: it stays gone.
  await registration.deregister()
  await new Promise((resolve) => setTimeout(resolve, 600))
  assert.equal(await held(), false)
  assert.equal(reregistered, 2)
})
