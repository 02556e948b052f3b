import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { createMetrics, type Metrics } from '@platform/metrics'
import { createPool, migrate, withTransaction, type Pool } from '@platform/postgres'
import { scratchSchema, scratchTopics, stack } from '@platform/testing'
import {
  createEventCodec,
  createKafkaBus,
  enqueue,
  messagingMigrationsDir,
  type IncomingEvent,
  type MessageBus
} from '../src/index.ts'
import { Events } from '@platform/contracts'

export interface Fixture {
  url: string
  pool: Pool
  bus: MessageBus
  metrics: Metrics
  topic: string
  /** Runs `fn` at the end of the test, before what was deferred earlier (LIFO) and before the fixture's own cleanup. */
  defer: (fn: () => unknown) => void
}

/**
 * A scratch schema with the messaging tables, a test topic (and its DLQ), and a bus, all removed
 * after the test. Relays and consumers must stop before the pool ends (`pool.end()` waits for
 * checked-out clients), hence `defer`.
 */
export async function fixture(t: TestContext): Promise<Fixture> {
  const schema = await scratchSchema()
  const pool = createPool({ connectionString: schema.url })
  await migrate(pool, { dir: messagingMigrationsDir, table: 'messaging_migrations' })
  const topic = `test.${randomUUID()}`
  const topics = await scratchTopics([topic, `${topic}.dlq`])
  const metrics = createMetrics({ service: 'test', processMetrics: false })
  const bus = createKafkaBus({
    events: Events,
    brokers: stack.kafka.brokers,
    clientId: 'messaging-test',
    metrics
  })
  const deferred: Array<() => unknown> = []
  t.after(async () => {
    for (const fn of deferred.reverse()) await fn()
    await bus.close()
    await pool.end()
    await topics.drop()
    await schema.drop()
  })
  return { url: schema.url, pool, bus, metrics, topic, defer: (fn) => void deferred.push(fn) }
}

const events = createEventCodec(Events)

/** An order.cancelled event for `orderId`, routed to the test topic. */
export function cancelled(topic: string, orderId: string = randomUUID()) {
  const { envelope, message } = events.create(
    'order.cancelled',
    { orderId, customerId: 'c-1' },
    { source: 'test', subject: orderId }
  )
  return { envelope, message: { ...message, topic } }
}

/** Commits one outbox row per event, each in its own transaction, as a service would. */
export async function commitEvents(pool: Pool, list: ReturnType<typeof cancelled>[]): Promise<void> {
  for (const e of list) await withTransaction(pool, (client) => enqueue(client, e.envelope.id, e.message))
}

/** Collects every event consumed from `topics` by a fresh consumer group. */
export async function collect(
  bus: MessageBus,
  topics: string[],
  handle?: (e: IncomingEvent) => Promise<void>
) {
  const events: IncomingEvent[] = []
  const subscription = await bus.subscribe({
    groupId: `test-${randomUUID()}`,
    topics,
    fromBeginning: true,
    retryBaseMs: 10,
    handle: async (event) => {
      await handle?.(event)
      events.push(event)
    }
  })
  return { events, stop: () => subscription.stop() }
}

export interface RawMessage {
  key: string | undefined
  value: string
  headers: Record<string, string>
  partition: number
  offset: string
}

/** Reads `topic` as raw bytes with plain kafkajs (dead letters are not envelopes). */
export async function rawCollect(topic: string) {
  const kafka = new Kafka({ clientId: 'raw-test', brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `raw-${randomUUID()}`, maxWaitTimeInMs: 500 })
  const messages: RawMessage[] = []
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
      messages.push({
        key: message.key?.toString(),
        value: message.value?.toString() ?? '',
        headers,
        partition,
        offset: message.offset
      })
    }
  })
  return { messages, stop: () => consumer.disconnect() }
}
