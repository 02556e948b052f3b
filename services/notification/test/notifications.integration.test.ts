import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import type pg from 'pg'
import { readSample } from '@platform/metrics'
import { eventually, smtpSink, stack } from '@platform/testing'
import { alice, eventScope, notificationService, openStream, orderEvent, publish } from './helpers.ts'

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function deliveries(db: pg.Client) {
  const { rows } = await db.query<{ status: string; attempts: number; last_error: string | null }>(
    "SELECT status, attempts, last_error FROM deliveries WHERE channel = 'email'"
  )
  return rows
}

test('an order event becomes exactly one email with the order in it, and one stored notification', async (t) => {
  const scope = await eventScope(t)
  const smtp = await smtpSink()
  scope.defer(() => smtp.stop())
  const { app, db } = await notificationService(scope, { SMTP_URL: smtp.url })

  const event = orderEvent('order.confirmed')
  const orderId = event.envelope.data.orderId
  await publish(scope, event)
  const [mail] = await eventually(20_000, 'email', async () =>
    smtp.received.length ? smtp.received : undefined
  )

  assert.deepEqual(mail!.to, ['alice@customers.example.test'])
  assert.equal(mail!.subject, `Order ${orderId.slice(0, 8).toUpperCase()} is confirmed`)
  assert.match(mail!.text, /2 × 3f1c2d4e-0000-4000-8000-000000000001 at €12\.50 = €25\.00/)
  assert.match(mail!.text, /Total: €29\.99/)
  assert.match(mail!.html, /<strong>€29\.99<\/strong>/)
  const [row] = (await db.query<{ id: string }>('SELECT id FROM notifications')).rows
  assert.equal(mail!.messageId, `<${row!.id}@notification.platform.local>`)

  const list = await app.inject({ url: '/notifications', headers: alice })
  assert.equal(list.statusCode, 200)
  const { items } = list.json() as {
    items: Array<{ orderId: string; kind: string; email: { status: string } }>
  }
  assert.equal(items.length, 1)
  assert.equal(items[0]!.orderId, orderId)
  assert.equal(items[0]!.kind, 'order.confirmed')
  await eventually(5000, 'email marked sent', async () =>
    (await deliveries(db))[0]?.status === 'sent' ? true : undefined
  )
  const metrics = await app.inject({ url: '/metrics' })
  assert.equal(readSample(metrics.body, 'deliveries_total', { channel: 'email', outcome: 'sent' }), 1)
})

test('order data is escaped in the HTML body and each kind has its own message', async (t) => {
  const scope = await eventScope(t)
  const smtp = await smtpSink()
  scope.defer(() => smtp.stop())
  await notificationService(scope, { SMTP_URL: smtp.url })

  const orderId = randomUUID()
  await publish(scope, orderEvent('order.rejected', orderId), orderEvent('order.cancelled', randomUUID()))
  await eventually(20_000, 'two emails', async () => (smtp.received.length === 2 ? true : undefined))
  const rejected = smtp.received.find((m) => m.subject.includes('could not be accepted'))!
  assert.match(rejected.text, /Reason: out of stock: <Blue mug> wanted 2, 0 left/)
  assert.match(rejected.html, /Reason: out of stock: &lt;Blue mug&gt; wanted 2, 0 left/)
  assert.ok(smtp.received.some((m) => /is cancelled$/.test(m.subject)))
})

test('the same event twice, and a second event of the same order and kind, still give one email', async (t) => {
  const scope = await eventScope(t)
  const smtp = await smtpSink()
  scope.defer(() => smtp.stop())
  const { db } = await notificationService(scope, { SMTP_URL: smtp.url })

  const event = orderEvent('order.confirmed')
  const sameKind = orderEvent('order.confirmed', event.envelope.data.orderId) // another event id
  await publish(scope, event, event, sameKind)
  await eventually(20_000, 'email', async () => (smtp.received.length ? true : undefined))
  await eventually(10_000, 'every event handled', async () => {
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox')
    return rows[0]!.n === 2 ? true : undefined // two distinct event ids
  })
  await settle(500) // give a wrong second send the time to happen
  assert.equal(smtp.received.length, 1)
  assert.equal((await db.query('SELECT 1 FROM notifications')).rowCount, 1)
})

test('SMTP down: the email stays pending and retries, and arrives once after the server returns', async (t) => {
  const scope = await eventScope(t)
  const smtp = await smtpSink()
  await smtp.stop() // the server is down from the start
  scope.defer(() => smtp.stop())
  const { db } = await notificationService(scope, { SMTP_URL: smtp.url })

  await publish(scope, orderEvent('order.confirmed'))
  const failing = await eventually(20_000, 'two failed attempts', async () => {
    const [d] = await deliveries(db)
    return d && d.attempts >= 2 ? d : undefined
  })
  assert.equal(failing.status, 'pending')
  assert.match(failing.last_error ?? '', /ECONNREFUSED|connect/i)

  await smtp.start()
  await eventually(20_000, 'email after SMTP returned', async () => (smtp.received.length ? true : undefined))
  await eventually(5000, 'marked sent', async () =>
    (await deliveries(db))[0]?.status === 'sent' ? true : undefined
  )
  await settle(800)
  assert.equal(smtp.received.length, 1)
})

test('after the last attempt, or a permanent refusal, the email is failed and counted for the alert', async (t) => {
  const scope = await eventScope(t)
  const smtp = await smtpSink()
  scope.defer(() => smtp.stop())
  smtp.refuse('bob@customers.example.test') // 550: retrying would not help
  const { app, db } = await notificationService(scope, { SMTP_URL: smtp.url, EMAIL_MAX_ATTEMPTS: '2' })

  await publish(scope, orderEvent('order.confirmed', randomUUID(), 'bob'))
  const refused = await eventually(20_000, 'refused email failed', async () => {
    const [d] = await deliveries(db)
    return d?.status === 'failed' ? d : undefined
  })
  assert.equal(refused.attempts, 1)

  await smtp.stop()
  await publish(scope, orderEvent('order.confirmed', randomUUID(), 'carol'))
  await eventually(20_000, 'unreachable email failed after 2 attempts', async () => {
    const rows = await deliveries(db)
    return rows.length === 2 && rows.every((d) => d.status === 'failed') ? true : undefined
  })
  assert.deepEqual((await deliveries(db)).map((d) => d.attempts).sort(), [1, 2])
  const metrics = (await app.inject({ url: '/metrics' })).body
  assert.equal(readSample(metrics, 'deliveries_total', { channel: 'email', outcome: 'failed' }), 2)
  assert.equal(readSample(metrics, 'deliveries_total', { channel: 'email', outcome: 'retry' }), 1)
  // The in-app notifications are there all the same.
  const bob = await app.inject({ url: '/notifications', headers: { 'x-user-id': 'bob' } })
  assert.equal(
    (bob.json() as { items: Array<{ email: { status: string } }> }).items[0]!.email.status,
    'failed'
  )
})

test('an SSE client gets a new notification within a second of the event, with heartbeats between', async (t) => {
  const scope = await eventScope(t)
  const { url } = await notificationService(scope, {})
  const stream = await openStream(`${url}/notifications/stream`, alice)
  t.after(() => stream.close())
  assert.equal(stream.status, 200)
  assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/)
  assert.equal(stream.headers.get('x-accel-buffering'), 'no')

  // Warm the consumer up (group join), then time one event from publish to the browser.
  await publish(scope, orderEvent('order.cancelled'))
  await stream.nth(1, 30_000)
  const event = orderEvent('order.confirmed')
  const sent = Date.now()
  await publish(scope, event)
  const received = await stream.nth(2)
  const latencyMs = Date.now() - sent
  assert.ok(latencyMs < 1000, `event to SSE took ${latencyMs} ms`)
  assert.equal(received.event, 'notification')
  const body = JSON.parse(received.data) as { orderId: string; seq: string; kind: string }
  assert.equal(body.orderId, event.envelope.data.orderId)
  assert.equal(received.id, body.seq)
  await eventually(5000, 'a heartbeat', async () =>
    stream.comments.includes('heartbeat') ? true : undefined
  )
})

test('a reconnect with Last-Event-ID replays what was missed, in order, and only that', async (t) => {
  const scope = await eventScope(t)
  const { app, url } = await notificationService(scope, {})
  const first = await openStream(`${url}/notifications/stream`, alice)
  await publish(scope, orderEvent('order.confirmed'))
  const seen = await first.nth(1, 30_000)
  first.close()

  const missed = [orderEvent('order.rejected'), orderEvent('order.cancelled')]
  await publish(scope, ...missed)
  await eventually(20_000, 'missed ones stored', async () => {
    const res = await app.inject({ url: '/notifications', headers: alice })
    return (res.json() as { items: unknown[] }).items.length === 3 ? true : undefined
  })

  const again = await openStream(`${url}/notifications/stream`, { ...alice, 'last-event-id': seen.id! })
  t.after(() => again.close())
  const replayed = [await again.nth(1), await again.nth(2)]
  assert.deepEqual(
    replayed.map((e) => (JSON.parse(e.data) as { orderId: string }).orderId).sort(),
    missed.map((m) => m.envelope.data.orderId).sort()
  )
  assert.ok(Number(replayed[0]!.id) < Number(replayed[1]!.id))
  await settle(300)
  assert.equal(again.events.length, 2)

  // The same from the query string (a browser's first connection can't set headers).
  const byQuery = await openStream(`${url}/notifications/stream?lastEventId=${seen.id}`, alice)
  t.after(() => byQuery.close())
  await byQuery.nth(2)
})

test('another customer sees none of it; bad input is a clear 4xx', async (t) => {
  const scope = await eventScope(t)
  const { app, url } = await notificationService(scope, {}, { messaging: false })
  const bobStream = await openStream(`${url}/notifications/stream`, { 'x-user-id': 'bob' })
  t.after(() => bobStream.close())

  const anonymous = await app.inject({ url: '/notifications' })
  assert.equal(anonymous.statusCode, 401)
  assert.equal((anonymous.json() as { code: string }).code, 'UNAUTHENTICATED')
  const noUserStream = await fetch(`${url}/notifications/stream`)
  assert.equal(noUserStream.status, 401)
  const badId = await fetch(`${url}/notifications/stream`, { headers: { ...alice, 'last-event-id': 'abc' } })
  assert.equal(badId.status, 400)
  assert.equal(((await badId.json()) as { code: string }).code, 'INVALID_LAST_EVENT_ID')
  const badCursor = await app.inject({ url: '/notifications?cursor=zzz', headers: alice })
  assert.equal(badCursor.statusCode, 400)
  assert.equal((badCursor.json() as { code: string }).code, 'INVALID_CURSOR')
  const badLimit = await app.inject({ url: '/notifications?limit=0', headers: alice })
  assert.equal(badLimit.statusCode, 400)
  await settle(400)
  assert.equal(bobStream.events.length, 0)
})

test('pages of the caller’s notifications, newest first', async (t) => {
  const scope = await eventScope(t)
  const { app } = await notificationService(scope, {})
  const events = [orderEvent('order.confirmed'), orderEvent('order.rejected'), orderEvent('order.cancelled')]
  for (const e of events) await publish(scope, e) // one at a time: the order they are stored in
  await eventually(20_000, 'three stored', async () => {
    const res = await app.inject({ url: '/notifications', headers: alice })
    return (res.json() as { items: unknown[] }).items.length === 3 ? true : undefined
  })
  const page1 = (await app.inject({ url: '/notifications?limit=2', headers: alice })).json() as {
    items: Array<{ seq: string }>
    nextCursor?: string
  }
  assert.equal(page1.items.length, 2)
  assert.ok(page1.nextCursor)
  assert.ok(Number(page1.items[0]!.seq) > Number(page1.items[1]!.seq))
  const page2 = (
    await app.inject({ url: `/notifications?limit=2&cursor=${page1.nextCursor}`, headers: alice })
  ).json() as { items: Array<{ seq: string }>; nextCursor?: string }
  assert.equal(page2.items.length, 1)
  assert.equal(page2.nextCursor, undefined)
  assert.ok(Number(page2.items[0]!.seq) < Number(page1.items[1]!.seq))
})

test('a malformed event goes to the DLQ with its reason, and the next event is handled', async (t) => {
  const scope = await eventScope(t)
  const { app } = await notificationService(scope, {})
  const topic = `${scope.prefix}order.events`
  await scope.bus.publish([{ topic, key: 'x', value: '{"not": "an event"', headers: {} }])
  const good = orderEvent('order.confirmed')
  await publish(scope, good)

  await eventually(30_000, 'the next event handled', async () => {
    const res = await app.inject({ url: '/notifications', headers: alice })
    return (res.json() as { items: unknown[] }).items.length === 1 ? true : undefined
  })
  const kafka = new Kafka({
    clientId: 'dlq-reader',
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING
  })
  const consumer = kafka.consumer({ groupId: `${scope.prefix}dlq-reader` })
  scope.defer(() => consumer.disconnect())
  await consumer.connect()
  await consumer.subscribe({ topic: `${topic}.dlq`, fromBeginning: true })
  const dead: Array<{ value: string; reason: string }> = []
  await consumer.run({
    eachMessage: async ({ message }) => {
      dead.push({ value: message.value!.toString(), reason: String(message.headers?.['dlq-reason']) })
    }
  })
  await eventually(20_000, 'dead letter', async () => (dead.length ? true : undefined))
  assert.equal(dead[0]!.value, '{"not": "an event"')
  assert.equal(dead[0]!.reason, 'schema')
})
