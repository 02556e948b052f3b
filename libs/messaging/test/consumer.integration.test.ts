import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { connect, createServer } from 'node:net'
import { test } from 'node:test'
import { context, propagation, trace, TraceFlags } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { readSample } from '@platform/metrics'
import { createPool } from '@platform/postgres'
import { eventually, freePort, stack } from '@platform/testing'
import { handleBatchOnce, handleOnce, pruneInbox, type IncomingEvent } from '../src/index.ts'
import { cancelled, collect, fixture, rawCollect } from './helpers.ts'

test('a poison message goes to the DLQ with its reason and origin; later messages on the partition flow', async (t) => {
  const f = await fixture(t)
  const good = cancelled(f.topic)
  const key = good.envelope.subject!
  const offContract = JSON.stringify({
    ...good.envelope,
    id: randomUUID(),
    data: { ...good.envelope.data, orderId: 'not-a-uuid' }
  })
  await f.bus.publish([
    { topic: f.topic, key, value: 'not json at all', headers: {} },
    { topic: f.topic, key, value: offContract, headers: {} },
    good.message
  ])
  const consumed = await collect(f.bus, [f.topic])
  const dlq = await rawCollect(`${f.topic}.dlq`)
  f.defer(async () => {
    await consumed.stop()
    await dlq.stop()
  })

  await eventually(20_000, 'the good event handled', async () =>
    consumed.events.length === 1 ? true : undefined
  )
  assert.equal(consumed.events[0]?.envelope.id, good.envelope.id)
  const dead = await eventually(20_000, 'two dead letters', async () =>
    dlq.messages.length === 2 ? dlq.messages : undefined
  )
  assert.deepEqual(
    dead.map((m) => m.value),
    ['not json at all', offContract]
  )
  assert.deepEqual(
    dead.map((m) => m.headers['dlq-reason']),
    ['schema', 'schema']
  )
  assert.equal(dead[0]?.headers['dlq-error'], 'message is not JSON')
  assert.match(
    dead[1]?.headers['dlq-error'] ?? '',
    /order\.cancelled v1 data does not match its contract: \/orderId/
  )
  assert.equal(dead[0]?.headers['dlq-origin-topic'], f.topic)
  assert.equal(dead[0]?.headers['dlq-origin-partition'], String(consumed.events[0]?.partition))
  assert.deepEqual(
    dead.map((m) => Number(m.headers['dlq-origin-offset'])),
    [Number(consumed.events[0]!.offset) - 2, Number(consumed.events[0]!.offset) - 1]
  )
  assert.equal(dead[0]?.key, key)
  assert.equal(
    readSample(await f.metrics.registry.metrics(), 'kafka_dead_letter_messages_total', { topic: f.topic }),
    2
  )
})

test('a failing handler is retried; one that keeps failing is dead-lettered after the last attempt', async (t) => {
  const f = await fixture(t)
  const flaky = cancelled(f.topic)
  const broken = cancelled(f.topic)
  const attempts = new Map<string, number>()
  await f.bus.publish([flaky.message, broken.message])
  const consumed = await collect(f.bus, [f.topic], async (event) => {
    const n = (attempts.get(event.envelope.id) ?? 0) + 1
    attempts.set(event.envelope.id, n)
    if (event.envelope.id === broken.envelope.id) throw new Error('stock service says no')
    if (n < 3) throw new Error('transient')
  })
  const dlq = await rawCollect(`${f.topic}.dlq`)
  f.defer(async () => {
    await consumed.stop()
    await dlq.stop()
  })

  await eventually(20_000, 'the flaky event handled', async () =>
    consumed.events.length === 1 ? true : undefined
  )
  const [dead] = await eventually(20_000, 'one dead letter', async () =>
    dlq.messages.length === 1 ? dlq.messages : undefined
  )
  assert.equal(attempts.get(flaky.envelope.id), 3)
  assert.equal(attempts.get(broken.envelope.id), 3)
  assert.equal(JSON.parse(dead!.value).id, broken.envelope.id)
  assert.deepEqual(
    [dead!.headers['dlq-reason'], dead!.headers['dlq-error'], dead!.headers['dlq-attempts']],
    ['handler', 'stock service says no', '3']
  )
})

test('a duplicated event changes nothing the second time (inbox)', async (t) => {
  const f = await fixture(t)
  await f.pool.query('CREATE TABLE effects (order_id uuid, n int)')
  const event = cancelled(f.topic)
  await f.bus.publish([event.message, event.message]) // delivered twice
  const consumed = await collect(f.bus, [f.topic], async ({ envelope }) => {
    await handleOnce(f.pool, 'test-consumer', envelope.id, async (client) => {
      await client.query('INSERT INTO effects VALUES ($1, 1)', [
        (envelope.data as { orderId: string }).orderId
      ])
    })
  })
  f.defer(consumed.stop)

  await eventually(20_000, 'both deliveries handled', async () =>
    consumed.events.length === 2 ? true : undefined
  )
  const { rows } = await f.pool.query('SELECT count(*)::int AS n FROM effects')
  assert.equal(rows[0].n, 1)
  assert.equal(
    await handleOnce(f.pool, 'test-consumer', event.envelope.id, async () => assert.fail('applied twice')),
    false
  )
  assert.equal(await handleOnce(f.pool, 'another-consumer', event.envelope.id, async () => {}), true)
})

test('trace context survives the hop: the consumer runs in the producer trace', async (t) => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  t.after(() => {
    context.disable()
    propagation.disable()
  })
  const f = await fixture(t)
  const producerSpan = {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED
  }
  const event = context.with(trace.setSpanContext(context.active(), producerSpan), () => cancelled(f.topic))
  assert.equal(event.message.headers.traceparent, `00-${producerSpan.traceId}-${producerSpan.spanId}-01`)
  await f.bus.publish([event.message])

  let seen: string | undefined
  const consumed = await collect(f.bus, [f.topic], async () => {
    seen = trace.getSpanContext(context.active())?.traceId
  })
  f.defer(consumed.stop)

  await eventually(20_000, 'event handled', async () => (consumed.events.length === 1 ? true : undefined))
  assert.equal(seen, producerSpan.traceId)
  const lag = readSample(await f.metrics.registry.metrics(), 'kafka_consumer_lag_messages', {
    topic: f.topic
  })
  assert.equal(lag, 0)
})

test('subscribing to a topic that does not exist fails at once, naming it and its DLQ', async (t) => {
  const { bus, topic } = await fixture(t)
  const started = Date.now()
  await assert.rejects(
    bus.subscribe({ groupId: `g-${randomUUID()}`, topics: [`${topic}.nope`], handle: async () => {} }),
    (err: Error) => {
      assert.match(
        err.message,
        new RegExp(
          `Kafka topics missing: ${topic.replaceAll('.', '\\.')}\\.nope, ${topic.replaceAll('.', '\\.')}\\.nope\\.dlq`
        )
      )
      return true
    }
  )
  assert.ok(Date.now() - started < 10_000, 'not after a group join that never ends')
})

test('waiting events go through handleBatch together, at most maxBatchSize, each applied once (inbox)', async (t) => {
  const f = await fixture(t)
  await f.pool.query('CREATE TABLE effects (order_id uuid, n int)')
  const orderId = randomUUID() // one key: one partition, in order
  const events = Array.from({ length: 20 }, () => cancelled(f.topic, orderId))
  // Published before anyone subscribes, so the first fetch returns them all; one comes twice.
  await f.bus.publish([...events.map((e) => e.message), events[3]!.message])
  const batches: string[][] = []
  let singles = 0
  const subscription = await f.bus.subscribe({
    groupId: `test-${randomUUID()}`,
    topics: [f.topic],
    fromBeginning: true,
    maxBatchSize: 8,
    handle: async () => void singles++,
    handleBatch: async (batch) => {
      await handleBatchOnce(f.pool, 'test-consumer', batch, async (client, fresh) => {
        for (const { envelope } of fresh) {
          await client.query('INSERT INTO effects VALUES ($1, $2)', [
            orderId,
            events.findIndex((e) => e.envelope.id === envelope.id)
          ])
        }
      })
      batches.push(batch.map((e) => e.envelope.id))
    }
  })
  f.defer(() => subscription.stop())

  await eventually(20_000, 'all 21 deliveries handled', async () =>
    batches.flat().length + singles === 21 ? true : undefined
  )
  assert.deepEqual(
    batches.map((b) => b.length),
    [8, 8, 5],
    'batches of at most 8, in order'
  )
  assert.equal(singles, 0)
  const { rows } = await f.pool.query<{ n: number }>('SELECT n FROM effects ORDER BY n')
  assert.deepEqual(
    rows.map((r) => r.n),
    events.map((_, i) => i),
    'every event applied once, the duplicate not again'
  )
})

test('a failing batch is rolled back and its events handled one by one: the poison one alone is dead-lettered', async (t) => {
  const f = await fixture(t)
  await f.pool.query('CREATE TABLE effects (event_id uuid)')
  const orderId = randomUUID()
  const events = Array.from({ length: 5 }, () => cancelled(f.topic, orderId))
  const poison = events[2]!.envelope.id
  await f.bus.publish(events.map((e) => e.message))
  const record = async (
    client: { query: (sql: string, params: unknown[]) => Promise<unknown> },
    e: IncomingEvent
  ) => {
    await client.query('INSERT INTO effects VALUES ($1)', [e.envelope.id])
    if (e.envelope.id === poison) throw new Error('cannot apply this one')
  }
  const handled: string[] = []
  const subscription = await f.bus.subscribe({
    groupId: `test-${randomUUID()}`,
    topics: [f.topic],
    fromBeginning: true,
    retryBaseMs: 10,
    handle: async (event) => {
      await handleOnce(f.pool, 'test-consumer', event.envelope.id, (client) => record(client, event))
      handled.push(event.envelope.id)
    },
    handleBatch: async (batch) => {
      await handleBatchOnce(f.pool, 'test-consumer', batch, async (client, fresh) => {
        for (const event of fresh) await record(client, event)
      })
    }
  })
  const dlq = await rawCollect(`${f.topic}.dlq`)
  f.defer(async () => {
    await subscription.stop()
    await dlq.stop()
  })

  const [dead] = await eventually(20_000, 'the poison event dead-lettered', async () =>
    dlq.messages.length === 1 && handled.length === 4 ? dlq.messages : undefined
  )
  assert.equal(JSON.parse(dead!.value).id, poison)
  assert.equal(dead!.headers['dlq-reason'], 'handler')
  assert.deepEqual(
    handled,
    events.map((e) => e.envelope.id).filter((id) => id !== poison),
    'the others, in order'
  )
  const { rows } = await f.pool.query<{ event_id: string }>('SELECT event_id FROM effects')
  assert.equal(rows.length, 4, 'nothing of the failed batch stayed written; each good event once')
  assert.ok(!rows.some((r) => r.event_id === poison))
  assert.equal(
    readSample(await f.metrics.registry.metrics(), 'kafka_consumer_batch_fallbacks_total', {
      topic: f.topic
    }),
    1
  )
})

test('a database away for seconds holds the partition instead of dead-lettering good events', async (t) => {
  const f = await fixture(t)
  // The handler's database is at a port where nothing listens yet: the real pg client gets
  // ECONNREFUSED, as during a restart. After 3 s — far past three attempts' backoff — it is back.
  const port = await freePort()
  const proxy = createServer((client) => {
    const upstream = connect(stack.postgres.port, stack.postgres.host)
    client.pipe(upstream).pipe(client)
    // Closed, not only ended: the pg client destroys a socket that times out while connecting, and
    // its other half would keep the proxy (and the test) open.
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  f.defer(() => new Promise((resolve) => proxy.close(resolve)))
  const db = createPool({ connectionString: f.url.replace(/:\d+\//, `:${port}/`), connectionTimeoutMs: 500 })
  f.defer(() => db.end())
  setTimeout(() => proxy.listen(port, '127.0.0.1'), 3000).unref()

  const first = cancelled(f.topic)
  const second = cancelled(f.topic, first.envelope.subject!) // same key: same partition, behind it
  await f.bus.publish([first.message, second.message])
  let failures = 0
  const consumed = await collect(f.bus, [f.topic], async () => {
    await db.query('SELECT 1').catch((err: Error) => {
      failures++
      throw err
    })
  })
  const dlq = await rawCollect(`${f.topic}.dlq`)
  f.defer(async () => {
    await consumed.stop()
    await dlq.stop()
  })

  await eventually(30_000, 'both events handled once the database is back', async () =>
    consumed.events.length === 2 ? true : undefined
  )
  assert.deepEqual(
    consumed.events.map((e) => e.envelope.id),
    [first.envelope.id, second.envelope.id],
    'in order, each once'
  )
  assert.ok(failures > 3, `the first event failed ${failures} times, more than maxAttempts`)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.equal(dlq.messages.length, 0, 'nothing dead-lettered')
  const retries = readSample(await f.metrics.registry.metrics(), 'kafka_consumer_transient_retries_total', {
    topic: f.topic
  })
  assert.equal(retries, failures)
})

test('inbox retention removes ids past the window, oldest first, and keeps the rest', async (t) => {
  const f = await fixture(t)
  const ids = Array.from({ length: 5 }, () => randomUUID())
  // Two recorded 20 and 15 days ago, three recent: with a 14-day window the two go.
  await f.pool.query(
    `INSERT INTO inbox (consumer, event_id, processed_at)
     SELECT 'test', id, now() - make_interval(days => d) FROM unnest($1::uuid[], $2::int[]) AS x(id, d)`,
    [ids, [20, 15, 1, 0, 0]]
  )
  assert.equal(await pruneInbox(f.pool, 14, 1), 1, 'at most `limit` at a time')
  assert.equal(await pruneInbox(f.pool, 14), 1)
  assert.equal(await pruneInbox(f.pool, 14), 0)
  const left = await f.pool.query<{ event_id: string }>('SELECT event_id FROM inbox ORDER BY processed_at')
  assert.deepEqual(left.rows.map((r) => r.event_id).sort(), ids.slice(2).sort())
  // A duplicate of a kept id is still recognised.
  assert.equal(await handleOnce(f.pool, 'test', ids[2]!, async () => {}), false)
})

test('a consumer stuck on an event shows its lag growing (measured from the broker, not per batch)', async (t) => {
  const f = await fixture(t)
  const key = randomUUID()
  const events = Array.from({ length: 6 }, () => cancelled(f.topic, key))
  let release!: () => void
  const stuck = new Promise<void>((resolve) => (release = resolve))
  const groupId = `test-${randomUUID()}`
  const subscription = await f.bus.subscribe({
    groupId,
    topics: [f.topic],
    fromBeginning: true,
    lagIntervalMs: 300,
    handle: () => stuck
  })
  f.defer(async () => {
    release()
    await subscription.stop()
  })
  await f.bus.publish(events.map((e) => e.message))

  const lag = await eventually(20_000, 'the lag of the stuck partition', async () => {
    const text = await f.metrics.registry.metrics()
    const values = [0, 1, 2].map(
      (partition) =>
        readSample(text, 'kafka_consumer_lag_messages', {
          group: groupId,
          topic: f.topic,
          partition: String(partition)
        }) ?? 0
    )
    const total = values.reduce((a, b) => a + b, 0)
    return total >= 6 ? total : undefined
  })
  assert.equal(lag, 6, 'nothing committed: the whole partition is behind')
})

test('a consumer kafkajs gives up on (a crash it does not restart) is replaced, and its events still arrive', async (t) => {
  const f = await fixture(t)
  const first = cancelled(f.topic)
  const second = cancelled(f.topic)
  const groupId = `test-${randomUUID()}`
  const handled: string[] = []
  let failed = false
  const subscription = await f.bus.subscribe({
    groupId,
    topics: [f.topic],
    fromBeginning: true,
    handle: async (event) => {
      if (!failed) {
        failed = true
        throw new Error('the first attempt fails')
      }
      handled.push(event.envelope.id)
    },
    // Thrown out of the batch with retriable: false, as kafkajs's own fatal errors are: kafkajs
    // crashes the consumer and does not restart it.
    isTransient: (err) => {
      if ((err as Error).message === 'the first attempt fails')
        throw Object.assign(new Error('fatal to kafkajs'), { retriable: false })
      return false
    }
  })
  f.defer(() => subscription.stop())
  await f.bus.publish([first.message])
  await eventually(30_000, 'the event handled by the replacement', async () =>
    handled.includes(first.envelope.id) ? true : undefined
  )
  await f.bus.publish([second.message])
  await eventually(30_000, 'a later event handled', async () =>
    handled.includes(second.envelope.id) ? true : undefined
  )
  const text = await f.metrics.registry.metrics()
  assert.equal(readSample(text, 'kafka_consumer_replaced_total', { group: groupId, reason: 'crashed' }), 1)
  assert.deepEqual(handled, [first.envelope.id, second.envelope.id], 'each event handled once')
})

test('a consumer that neither fetches nor heartbeats for stallMs is replaced', async (t) => {
  const f = await fixture(t)
  const events = [cancelled(f.topic), cancelled(f.topic)]
  const groupId = `test-${randomUUID()}`
  const handled: string[] = []
  let calls = 0
  const subscription = await f.bus.subscribe({
    groupId,
    topics: [f.topic],
    fromBeginning: true,
    stallMs: 1500,
    // The first call hangs for 4 s without a heartbeat: the watchdog sees a stalled consumer.
    handle: async (event) => {
      if (calls++ === 0) await new Promise((resolve) => setTimeout(resolve, 4000))
      handled.push(event.envelope.id)
    }
  })
  f.defer(() => subscription.stop())
  await f.bus.publish(events.map((e) => e.message))
  await eventually(30_000, 'both events handled', async () =>
    events.every((e) => handled.includes(e.envelope.id)) ? true : undefined
  )
  const text = await f.metrics.registry.metrics()
  assert.ok(
    (readSample(text, 'kafka_consumer_replaced_total', { group: groupId, reason: 'stalled' }) ?? 0) >= 1,
    'replaced as stalled'
  )
})
