import { randomUUID } from 'node:crypto'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import pg from 'pg'
import { createKafkaBus, type MessageBus } from '@platform/messaging'
import { createMetrics } from '@platform/metrics'
import { eventually, scratchSchema, scratchTopics, stack } from '@platform/testing'
import type { ServiceAppOptions as AppOptions } from '@platform/service'
import { buildApp } from '../src/app.ts'
import { readConfig } from '../src/config.ts'
import { events } from '../src/events.ts'
import { Events } from '@platform/contracts'

export const alice = { 'x-user-id': 'alice' }

export interface Scope {
  prefix: string
  /** Cleans up at the end of the test, before what was deferred earlier (last in, first out). */
  defer: (fn: () => unknown) => void
  /** Publishes raw messages to `<prefix>order.events`. */
  bus: MessageBus
}

/** Topics of the test's own (`<prefix>order.events` and its DLQ) and a producer onto them. */
export async function eventScope(t: TestContext): Promise<Scope> {
  const prefix = `t${randomUUID().slice(0, 8)}.`
  const topics = await scratchTopics([`${prefix}order.events`, `${prefix}order.events.dlq`])
  const bus = createKafkaBus({
    events: Events,
    brokers: stack.kafka.brokers,
    clientId: 'notification-tests',
    metrics: createMetrics({ service: 'tests', processMetrics: false })
  })
  const deferred: Array<() => unknown> = [topics.drop, () => bus.close()]
  t.after(async () => {
    for (const fn of deferred.reverse()) await fn()
  })
  return { prefix, bus, defer: (fn) => void deferred.push(fn) }
}

/** The notification service in this process, listening on a free port, on a scratch schema. */
export async function notificationService(
  scope: Scope,
  env: Record<string, string>,
  options: AppOptions = {}
): Promise<{ app: FastifyInstance; url: string; db: pg.Client }> {
  const schema = await scratchSchema('notifications')
  const app = await buildApp(
    readConfig({
      LOG_LEVEL: 'error',
      DATABASE_URL: schema.url,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      KAFKA_TOPIC_PREFIX: scope.prefix,
      SMTP_URL: 'smtp://127.0.0.1:9',
      EMAIL_RETRY_BASE_MS: '100',
      EMAIL_RETRY_MAX_MS: '400',
      EMAIL_POLL_MS: '100',
      SMTP_TIMEOUT_MS: '2000',
      SSE_HEARTBEAT_MS: '300',
      ...env
    }),
    options
  )
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address() as { port: number }
  const db = new pg.Client({ connectionString: schema.url })
  await db.connect()
  scope.defer(async () => {
    await app.close()
    await db.end()
    await schema.drop()
  })
  return { app, url: `http://127.0.0.1:${address.port}`, db }
}

type OrderKind = 'order.confirmed' | 'order.rejected' | 'order.cancelled'

/** An order event as the order service would publish it. */
export function orderEvent(
  kind: OrderKind,
  orderId: string = randomUUID(),
  customerId = 'alice',
  id: string = randomUUID()
) {
  const ref = { orderId, customerId }
  const data =
    kind === 'order.confirmed'
      ? {
          ...ref,
          lines: [
            { productId: '3f1c2d4e-0000-4000-8000-000000000001', quantity: 2, unitPriceMinor: 1250 },
            { productId: '3f1c2d4e-0000-4000-8000-000000000002', quantity: 1, unitPriceMinor: 499 }
          ],
          totalMinor: 2999,
          currency: 'EUR'
        }
      : kind === 'order.rejected'
        ? { ...ref, reason: 'out of stock: <Blue mug> wanted 2, 0 left' }
        : ref
  return events.create(kind, data as never, { source: 'order', subject: orderId, id })
}

export async function publish(scope: Scope, ...events: Array<ReturnType<typeof orderEvent>>): Promise<void> {
  await scope.bus.publish(
    events.map(({ message }) => ({ ...message, topic: `${scope.prefix}${message.topic}` }))
  )
}

export interface Stream {
  events: EventSourceMessage[]
  comments: string[]
  status: number
  headers: Headers
  /** Resolves with the `n`-th event (1-based) once it has arrived. */
  nth(n: number, ms?: number): Promise<EventSourceMessage>
  close(): void
}

/** Opens an SSE stream with fetch and parses it with eventsource-parser, as a browser would. */
export async function openStream(url: string, headers: Record<string, string>): Promise<Stream> {
  const abort = new AbortController()
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  const events: EventSourceMessage[] = []
  const comments: string[] = []
  const parser = createParser({
    onEvent: (e) => events.push(e),
    onComment: (c) => comments.push(c)
  })
  if (res.body) {
    void (async () => {
      const decoder = new TextDecoder()
      try {
        for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }))
      } catch {
        // aborted by close()
      }
    })()
  }
  return {
    events,
    comments,
    status: res.status,
    headers: res.headers,
    nth: (n, ms = 10_000) =>
      eventually(ms, `SSE event #${n}`, async () => (events.length >= n ? events[n - 1] : undefined)),
    close: () => abort.abort()
  }
}
