import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { createKafkaBus, type IncomingEvent } from '@platform/messaging'
import { createMetrics, readSample } from '@platform/metrics'
import { eventually, scratchTopics, stack } from '@platform/testing'
import {
  alice,
  catalogService,
  order,
  orderService,
  sagaScope,
  waitForStatus,
  type Scope
} from './helpers.ts'
import { events } from '../src/events.ts'
import { Events } from '@platform/contracts'

/** A bus on the test's topics: to play the catalog's side, and to watch what the order service says. */
async function bus(scope: Scope) {
  const b = createKafkaBus({
    events: Events,
    brokers: stack.kafka.brokers,
    clientId: 'order-saga-test',
    metrics: createMetrics({ service: 't', processMetrics: false })
  })
  const said: IncomingEvent[] = []
  const subscription = await b.subscribe({
    groupId: `${scope.prefix}observer`,
    topics: [`${scope.prefix}order.events`],
    fromBeginning: true,
    handle: async (event) => void said.push(event)
  })
  scope.defer(async () => {
    await subscription.stop()
    await b.close()
  })
  const about = (orderId: string, type: string) =>
    said.filter(
      (e) => e.envelope.type === type && (e.envelope.data as { orderId: string }).orderId === orderId
    )
  return { bus: b, about }
}

test('the order process killed between commit and publish: the event is still delivered after restart', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const product = await catalog.createProduct(5)
  // "Before the crash": an instance that commits orders but never publishes (no relay runs).
  const before = await orderService(scope, { CATALOG_URL: catalog.url }, { messaging: false })
  const placed = await before.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': randomUUID() },
    payload: order(product, 2)
  })
  assert.equal(placed.statusCode, 201)
  assert.equal((await before.db.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n, 1)
  await before.app.close()

  // "After the restart": the same database, with the relay and the consumer running.
  const after = await orderService(scope, { CATALOG_URL: catalog.url }, {}, before.url)

  await waitForStatus(after.app, placed.json().id, 'CONFIRMED')
  assert.equal(await catalog.stockOf(product), 3)
})

test('duplicated stock events are applied once; order.confirmed is announced once', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const { app } = await orderService(scope, { CATALOG_URL: catalog.url })
  const { bus: b, about } = await bus(scope)
  const product = await catalog.createProduct(5)
  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': randomUUID() },
    payload: order(product)
  })
  const id = res.json().id
  await waitForStatus(app, id, 'CONFIRMED') // the real catalog answered once
  await eventually(20_000, 'order.confirmed announced', async () =>
    about(id, 'order.confirmed').length === 1 ? true : undefined
  )

  const { message } = events.create(
    'stock.reserved',
    { orderId: id, lines: [{ productId: product, quantity: 1 }] },
    { source: 'catalog', subject: id }
  )
  // The catalog's answer again (same event twice), and a contradicting late one.
  const replayed = { ...message, topic: `${scope.prefix}catalog.events` }
  await b.publish([replayed, replayed])
  const rejectedLate = events.create(
    'stock.rejected',
    { orderId: id, reason: 'late', unavailable: [] },
    { source: 'catalog', subject: id }
  )
  await b.publish([{ ...rejectedLate.message, topic: `${scope.prefix}catalog.events` }])
  await new Promise((resolve) => setTimeout(resolve, 1500))

  assert.equal((await app.inject({ url: `/orders/${id}`, headers: alice })).json().status, 'CONFIRMED')
  assert.equal(about(id, 'order.confirmed').length, 1)
  assert.equal(about(id, 'order.rejected').length, 0)
  // One decision, timed once (the order-confirmation SLO's metric), however many answers came.
  assert.deepEqual(await decisions(app), { confirmed: 1, rejected: 0, expired: 0 })
})

/** How many decisions the order service has timed, per outcome (`order_decision_seconds_count`). */
async function decisions(app: { inject: (o: { url: string }) => Promise<{ body: string }> }) {
  const text = (await app.inject({ url: '/metrics' })).body
  const count = (outcome: string) => readSample(text, 'order_decision_seconds_count', { outcome })
  return { confirmed: count('confirmed'), rejected: count('rejected'), expired: count('expired') }
}

test('expiry: a PENDING order with no answer in time is rejected as expired and announced', async (t) => {
  const scope = await sagaScope(t)
  // The catalog prices baskets over HTTP but listens on topics of its own: it never hears of the order.
  const deaf = `${scope.prefix}deaf.`
  const topics = await scratchTopics(
    ['order.events', 'order.events.dlq', 'catalog.events'].map((n) => `${deaf}${n}`)
  )
  scope.defer(topics.drop)
  const catalog = await catalogService(scope, deaf)
  const product = await catalog.createProduct(5)
  const { app } = await orderService(scope, {
    CATALOG_URL: catalog.url,
    ORDER_TIMEOUT_MS: '1000',
    EXPIRY_SWEEP_MS: '100'
  })
  const { about } = await bus(scope)

  const placed = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': randomUUID() },
    payload: order(product)
  })
  const id = placed.json().id
  assert.equal(placed.json().status, 'PENDING')

  const expired = await waitForStatus(app, id, 'REJECTED')
  assert.match(expired.reason ?? '', /^expired/)
  const [announced] = await eventually(20_000, 'order.rejected announced', async () => {
    const found = about(id, 'order.rejected')
    return found.length > 0 ? found : undefined
  })
  assert.match((announced!.envelope.data as { reason: string }).reason, /^expired/)
  assert.equal(about(id, 'order.rejected').length, 1)
  assert.deepEqual(await decisions(app), { confirmed: 0, rejected: 0, expired: 1 })
  // Timed from its 201: at least the timeout.
  const text = (await app.inject({ url: '/metrics' })).body
  assert.equal(readSample(text, 'order_decision_seconds_bucket', { outcome: 'expired', le: '0.5' }), 0)
})
