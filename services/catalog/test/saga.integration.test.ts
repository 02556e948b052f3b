import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test, type TestContext } from 'node:test'
import pg from 'pg'
import type { EventData } from '@platform/contracts'
import { createKafkaBus, type IncomingEvent } from '@platform/messaging'
import { createMetrics } from '@platform/metrics'
import { eventually, scratchTopics, stack } from '@platform/testing'
import { catalogs, create } from './helpers.ts'
import { events } from '../src/events.ts'
import { Events } from '@platform/contracts'

/** A catalog consuming its own prefixed topics, a bus to play the order service, and what it answers. */
async function saga(t: TestContext) {
  const prefix = `t${randomUUID().slice(0, 8)}.`
  const topics = await scratchTopics([
    `${prefix}order.events`,
    `${prefix}order.events.dlq`,
    `${prefix}catalog.events`,
    `${prefix}catalog.events.dlq`
  ])
  const { apps, url } = await catalogs(t, 1, { env: { KAFKA_TOPIC_PREFIX: prefix } })
  const bus = createKafkaBus({
    events: Events,
    brokers: stack.kafka.brokers,
    clientId: 'saga-test',
    metrics: createMetrics({ service: 't', processMetrics: false })
  })
  const answers: IncomingEvent[] = []
  const subscription = await bus
    .subscribe({
      groupId: `${prefix}observer`,
      topics: [`${prefix}catalog.events`],
      fromBeginning: true,
      handle: async (event) => void answers.push(event)
    })
    .catch(async (err: unknown) => {
      // The cleanup below is not registered yet: without this, the topics' admin connection would
      // keep the test process alive until the broker drops it (10 minutes).
      await bus.close()
      await topics.drop()
      throw err
    })
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  // Runs after catalogs() closed the app (hooks run in the order they were added): topics go last.
  t.after(async () => {
    await subscription.stop()
    await bus.close()
    await db.end()
    await topics.drop()
  })
  const publish = async <T extends 'order.placed' | 'order.cancelled'>(
    type: T,
    data: EventData<T>,
    id?: string
  ) => {
    const { message } = events.create(type, data, {
      source: 'order',
      subject: data.orderId,
      ...(id ? { id } : {})
    })
    await bus.publish([{ ...message, topic: `${prefix}${message.topic}` }])
    return message
  }
  const stockOf = async (id: string) =>
    (await db.query('SELECT stock FROM products WHERE id = $1', [id])).rows[0].stock as number
  const answerFor = (orderId: string) =>
    eventually(30_000, `the catalog's answer to ${orderId}`, async () =>
      answers.find((a) => (a.envelope.data as { orderId: string }).orderId === orderId)
    )
  /** Several events in one produce request: they reach the catalog together. */
  const publishAll = async (
    list: Array<{
      type: 'order.placed' | 'order.cancelled'
      data: EventData<'order.placed'> | EventData<'order.cancelled'>
    }>
  ) => {
    const messages = list.map(({ type, data }) => {
      const { message } = events.create(type, data as never, { source: 'order', subject: data.orderId })
      return { ...message, topic: `${prefix}${message.topic}` }
    })
    await bus.publish(messages)
  }
  return { app: apps[0]!, db, publish, publishAll, stockOf, answerFor, answers }
}

function placed(orderId: string, productId: string, quantity: number): EventData<'order.placed'> {
  return {
    orderId,
    customerId: 'c-1',
    lines: [{ productId, quantity, unitPriceMinor: 500 }],
    totalMinor: 500 * quantity,
    currency: 'EUR'
  }
}

test('two orders for the last unit: exactly one is reserved, stock never goes below zero', async (t) => {
  const s = await saga(t)
  const product = await create(s.app, {
    sku: `LAST-${randomUUID().slice(0, 6)}`,
    name: 'Last one',
    priceMinor: 500,
    currency: 'EUR',
    stock: 1
  })
  const [first, second] = [randomUUID(), randomUUID()]

  await Promise.all([
    s.publish('order.placed', placed(first, product.id, 1)),
    s.publish('order.placed', placed(second, product.id, 1))
  ])

  const answers = await Promise.all([s.answerFor(first), s.answerFor(second)])
  assert.deepEqual(answers.map((a) => a.envelope.type).sort(), ['stock.rejected', 'stock.reserved'])
  const rejected = answers.find((a) => a.envelope.type === 'stock.rejected')!.envelope
    .data as EventData<'stock.rejected'>
  assert.deepEqual(rejected.unavailable, [{ productId: product.id, requested: 1, available: 0 }])
  assert.equal(await s.stockOf(product.id), 0)
  const { rows } = await s.db.query(
    'SELECT status, count(*)::int AS n FROM reservations GROUP BY status ORDER BY status'
  )
  assert.deepEqual(rows, [
    { status: 'rejected', n: 1 },
    { status: 'reserved', n: 1 }
  ])
})

test('the same order.placed delivered twice reserves once; a cancel gives the stock back', async (t) => {
  const s = await saga(t)
  const product = await create(s.app, {
    sku: `TWICE-${randomUUID().slice(0, 6)}`,
    name: 'Twice',
    priceMinor: 500,
    currency: 'EUR',
    stock: 10
  })
  const orderId = randomUUID()
  const eventId = randomUUID()

  await s.publish('order.placed', placed(orderId, product.id, 3), eventId)
  await s.publish('order.placed', placed(orderId, product.id, 3), eventId) // redelivered
  await s.publish('order.placed', placed(orderId, product.id, 3)) // a new event id, same order
  const answer = await s.answerFor(orderId)
  assert.equal(answer.envelope.type, 'stock.reserved')
  await eventually(10_000, 'all three deliveries handled', async () =>
    (await s.db.query('SELECT count(*)::int AS n FROM inbox')).rows[0].n === 2 ? true : undefined
  )
  assert.equal(await s.stockOf(product.id), 7)
  assert.equal(
    s.answers.filter((a) => (a.envelope.data as { orderId: string }).orderId === orderId).length,
    1
  )
  const cachedBefore = (await s.app.inject({ url: `/products/${product.id}` })).json().stock
  assert.equal(cachedBefore, 7)

  await s.publish('order.cancelled', { orderId, customerId: 'c-1' })

  await eventually(30_000, 'stock back', async () =>
    (await s.stockOf(product.id)) === 10 ? true : undefined
  )
  const status = (await s.db.query('SELECT status FROM reservations WHERE order_id = $1', [orderId])).rows[0]
    .status
  assert.equal(status, 'released')
  assert.equal((await s.app.inject({ url: `/products/${product.id}` })).json().stock, 10) // cache invalidated
})

test('a burst of orders is reserved in batches: the stock is exact, each order answered once, cancels release', async (t) => {
  const s = await saga(t)
  const product = await create(s.app, {
    sku: `BURST-${randomUUID().slice(0, 6)}`,
    name: 'Burst',
    priceMinor: 500,
    currency: 'EUR',
    stock: 20
  })
  const orders = Array.from({ length: 30 }, () => randomUUID())

  await s.publishAll(
    orders.map((orderId) => ({ type: 'order.placed', data: placed(orderId, product.id, 1) }))
  )

  const answers = await Promise.all(orders.map((id) => s.answerFor(id)))
  const reserved = orders.filter((_, i) => answers[i]!.envelope.type === 'stock.reserved')
  assert.equal(reserved.length, 20)
  assert.equal(await s.stockOf(product.id), 0)
  const { rows } = await s.db.query<{ batches: number; n: number }>(
    'SELECT count(DISTINCT created_at)::int AS batches, count(*)::int AS n FROM reservations'
  )
  assert.equal(rows[0]!.n, 30)
  // Rows written by one transaction share its now(): fewer timestamps than orders means batches.
  assert.ok(rows[0]!.batches < 30, `${rows[0]!.batches} transactions for 30 orders`)

  await s.publishAll(
    reserved.slice(0, 5).map((orderId) => ({ type: 'order.cancelled', data: { orderId, customerId: 'c-1' } }))
  )
  await eventually(30_000, 'five units back', async () =>
    (await s.stockOf(product.id)) === 5 ? true : undefined
  )
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.equal(await s.stockOf(product.id), 5, 'released once each')
  assert.equal(s.answers.length, 30, 'one answer per order')
})
