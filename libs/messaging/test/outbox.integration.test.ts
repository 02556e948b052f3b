import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'
import { readSample } from '@platform/metrics'
import { createPool } from '@platform/postgres'
import { eventually } from '@platform/testing'
import { createOutboxRelay, OUTBOX_CHANNEL } from '../src/index.ts'
import { cancelled, collect, commitEvents, fixture } from './helpers.ts'

test('a row committed while no relay runs is published when a relay starts, in order per key', async (t) => {
  const f = await fixture(t)
  const keyA = cancelled(f.topic).envelope.subject!
  const events = Array.from({ length: 40 }, (_, i) => cancelled(f.topic, i % 2 === 0 ? keyA : undefined))
  await commitEvents(f.pool, events) // committed; the "crashed" relay never published them
  const consumed = await collect(f.bus, [f.topic])
  f.defer(consumed.stop)

  const relay = createOutboxRelay({ pool: f.pool, bus: f.bus, metrics: f.metrics })
  await relay.start()
  f.defer(relay.stop)

  await eventually(20_000, 'every event consumed', async () =>
    consumed.events.length >= 40 ? true : undefined
  )
  const ids = consumed.events.map((e) => e.envelope.id)
  assert.deepEqual(new Set(ids), new Set(events.map((e) => e.envelope.id)))
  const orderOfA = consumed.events.filter((e) => e.key === keyA).map((e) => e.envelope.id)
  assert.deepEqual(
    orderOfA,
    events.filter((e) => e.envelope.subject === keyA).map((e) => e.envelope.id)
  )
  assert.equal((await f.pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n, 0)
  const text = await f.metrics.registry.metrics()
  assert.equal(readSample(text, 'outbox_published_total'), 40)
  assert.equal(readSample(text, 'outbox_backlog_messages'), 0)
})

test('two relays running together publish every row exactly once', async (t) => {
  const f = await fixture(t)
  const consumed = await collect(f.bus, [f.topic])
  f.defer(consumed.stop)
  const relays = [1, 2].map(() =>
    createOutboxRelay({ pool: f.pool, bus: f.bus, metrics: f.metrics, batchSize: 7, pollIntervalMs: 20 })
  )
  await Promise.all(relays.map((r) => r.start()))
  f.defer(() => Promise.all(relays.map((r) => r.stop())))

  const events = Array.from({ length: 150 }, () => cancelled(f.topic))
  await commitEvents(f.pool, events)

  await eventually(30_000, 'every event consumed', async () =>
    consumed.events.length >= 150 ? true : undefined
  )
  await new Promise((resolve) => setTimeout(resolve, 500)) // room for a duplicate to show up
  const ids = consumed.events.map((e) => e.envelope.id)
  assert.equal(ids.length, 150)
  assert.equal(new Set(ids).size, 150)
})

test('a relay killed mid-batch (rows read, nothing acknowledged) loses nothing: the next relay publishes them', async (t) => {
  const f = await fixture(t)
  // A "broker" that accepts connections and never answers: the child relay's publish hangs.
  const blackHole = createServer(() => {})
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve))
  f.defer(() => blackHole.close())
  const events = Array.from({ length: 10 }, () => cancelled(f.topic))
  await commitEvents(f.pool, events)

  const script = fileURLToPath(new URL('./fixtures/relay-process.ts', import.meta.url))
  const broker = `127.0.0.1:${(blackHole.address() as { port: number }).port}`
  const child = spawn(process.execPath, ['--conditions=development', script, f.url, broker], {
    stdio: 'ignore'
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  f.defer(() => child.kill('SIGKILL'))
  const relayLocks = async () =>
    // the relay's advisory lock key 7215040732: pg_locks shows its low 32 bits as objid
    (
      await f.pool.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 2920073436`
      )
    ).rows[0].n as number
  await eventually(15_000, 'the child relay holds the batch', async () =>
    (await relayLocks()) > 0 ? true : undefined
  )

  child.kill('SIGKILL')
  await exited
  await eventually(10_000, 'postgres ends the dead session', async () =>
    (await relayLocks()) === 0 ? true : undefined
  )
  const consumed = await collect(f.bus, [f.topic])
  f.defer(consumed.stop)
  const relay = createOutboxRelay({ pool: f.pool, bus: f.bus, metrics: f.metrics })
  assert.equal(await relay.drain(), 10)

  await eventually(20_000, 'every event consumed', async () =>
    consumed.events.length >= 10 ? true : undefined
  )
  assert.deepEqual(
    new Set(consumed.events.map((e) => e.envelope.id)),
    new Set(events.map((e) => e.envelope.id))
  )
})

test('after a full batch the relay reports the backlog; a failed publish leaves its rows for the next batch', async (t) => {
  const f = await fixture(t)
  await commitEvents(
    f.pool,
    Array.from({ length: 25 }, () => cancelled(f.topic))
  )
  let calls = 0
  const relay = createOutboxRelay({
    pool: f.pool,
    bus: {
      publish: async (messages) => {
        if (++calls === 2) throw new Error('broker unreachable')
        await f.bus.publish(messages)
      }
    },
    metrics: f.metrics,
    batchSize: 10
  })

  await assert.rejects(relay.drain(), /broker unreachable/)

  const text = await f.metrics.registry.metrics()
  assert.equal(readSample(text, 'outbox_published_total'), 10)
  assert.equal(readSample(text, 'outbox_backlog_messages'), 15)
  assert.ok(readSample(text, 'outbox_oldest_age_seconds')! > 0)
  assert.equal((await f.pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n, 15)
  assert.equal(await relay.drain(), 15, 'the rest goes out with the next drain')
})

test('a relay whose LISTEN connection the server ends keeps going and listens again', async (t) => {
  const f = await fixture(t)
  const consumed = await collect(f.bus, [f.topic])
  f.defer(consumed.stop)
  const errors: Error[] = []
  const name = `relay-test-${process.pid}`
  const pool = createPool({ connectionString: f.url, applicationName: name })
  f.defer(() => pool.end())
  // A poll interval far longer than the test: only a notification can wake the relay in time.
  const relay = createOutboxRelay({
    pool,
    bus: f.bus,
    metrics: f.metrics,
    pollIntervalMs: 600_000,
    retryDelayMs: 100,
    onError: (err) => errors.push(err)
  })
  await relay.start()
  f.defer(relay.stop)
  await commitEvents(f.pool, [cancelled(f.topic)])
  await eventually(10_000, 'the first event', async () => (consumed.events.length === 1 ? true : undefined))

  await f.pool.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query = 'LISTEN ${OUTBOX_CHANNEL}'`,
    [name]
  )
  await eventually(10_000, 'the relay heard it lost its connection', async () =>
    errors.length > 0 ? true : undefined
  )
  await eventually(10_000, 'listening again', async () => {
    const { rows } = await f.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query = 'LISTEN ${OUTBOX_CHANNEL}'`,
      [name]
    )
    return rows[0].n === 1 ? true : undefined
  })
  await commitEvents(f.pool, [cancelled(f.topic)])
  await eventually(10_000, 'the next event, woken by a notification', async () =>
    consumed.events.length === 2 ? true : undefined
  )
})

test('while Kafka is away the backlog and the age of the oldest row keep moving', async (t) => {
  const f = await fixture(t)
  const relay = createOutboxRelay({
    pool: f.pool,
    bus: {
      publish: async () => {
        throw new Error('broker unreachable')
      }
    },
    metrics: f.metrics,
    pollIntervalMs: 100,
    retryDelayMs: 100
  })
  await relay.start()
  f.defer(() => relay.stop())
  await commitEvents(f.pool, [cancelled(f.topic), cancelled(f.topic), cancelled(f.topic)])

  const sample = async () => {
    const text = await f.metrics.registry.metrics()
    return {
      backlog: readSample(text, 'outbox_backlog_messages'),
      age: readSample(text, 'outbox_oldest_age_seconds') ?? 0
    }
  }
  const first = await eventually(5_000, 'the backlog counted', async () => {
    const s = await sample()
    return s.backlog === 3 ? s : undefined
  })
  await eventually(5_000, 'the oldest row ageing', async () =>
    (await sample()).age > first.age + 0.3 ? true : undefined
  )
})
