// Faults that are traffic rather than a broken server: one caller flooding the stream endpoint,
// and events delivered twice or malformed on the platform's own topics.
import { randomUUID } from 'node:crypto'
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs'
import { listDeadLetters } from '@platform/messaging'
import type { Invariant } from './invariants.ts'
import type { TrafficReport } from './traffic.ts'

const INJECTED = 'faults-injected'

export interface Fault {
  inject(): Promise<void>
  heal(): Promise<void>
  /** Invariants of this fault's own, checked with the common ones. */
  check?(report: TrafficReport): Promise<Invariant[]>
  /** Figures of this fault's own, written with the scenario's outcome. */
  figures?(): unknown
}

const invariant = (name: string, failures: string[], detail = ''): Invariant => ({
  name,
  ok: failures.length === 0,
  detail: failures.length ? failures.slice(0, 5).join('; ') : detail
})

/** One signed-in caller opening `count` notification streams at once and holding them. */
export function streamFlood(
  edge: string,
  token: () => Promise<string>,
  count: number,
  gateways: number
): Fault {
  const abort = new AbortController()
  const answers: Record<string, number> = {}
  const codes = new Set<string>()
  const held: Array<Promise<unknown>> = []
  return {
    async inject() {
      const bearer = `Bearer ${await token()}`
      for (let i = 0; i < count; i++) {
        held.push(
          fetch(`${edge}/api/v1/notifications/stream`, {
            headers: { authorization: bearer },
            signal: abort.signal
          }).then(
            async (res) => {
              answers[res.status] = (answers[res.status] ?? 0) + 1
              if (res.status === 200) return res.body?.getReader().closed.catch(() => undefined)
              codes.add(((await res.json().catch(() => ({}))) as { code?: string }).code ?? '?')
            },
            () => void (answers['no answer'] = (answers['no answer'] ?? 0) + 1)
          )
        )
      }
    },
    async heal() {
      abort.abort()
      await Promise.allSettled(held)
    },
    async check(report) {
      const opened = answers['200'] ?? 0
      const cap = 5 * gateways // STREAMS_PER_USER per gateway instance
      return [
        invariant(
          `one caller's ${count} streams: at most ${cap} open, the rest 429 TOO_MANY_STREAMS`,
          [
            ...(opened > cap || opened === 0 ? [`${opened} opened`] : []),
            ...((answers['429'] ?? 0) !== count - opened ? [`answers ${JSON.stringify(answers)}`] : []),
            ...([...codes].some((c) => c !== 'TOO_MANY_STREAMS') ? [`codes ${[...codes].join(',')}`] : [])
          ],
          JSON.stringify(answers)
        ),
        invariant(
          'everyone else unaffected: no 503 while one caller floods the streams',
          report.byStatus['503'] ? [`${report.byStatus['503']} × 503`] : []
        )
      ]
    }
  }
}

/**
 * Every event the platform publishes while the fault lasts is delivered twice more (a producer
 * retry, a replayed partition), and malformed messages — not JSON, or an envelope whose data breaks
 * its contract — are mixed in. Consumers must apply each event once and dead-letter exactly the
 * malformed ones.
 */
export function duplicatesAndPoison(brokers: string[], topics: string[]): Fault {
  const kafka = new Kafka({ clientId: 'faults-injector', brokers, logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  const groupId = `faults-duplicator-${randomUUID()}`
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 })
  const admin = kafka.admin()
  const pending: Array<Promise<unknown>> = []
  let duplicated = 0
  let poisoned = 0
  let timer: NodeJS.Timeout | undefined
  let started = ''

  const again = (topic: string, m: KafkaMessage) => ({
    topic,
    messages: [{ key: m.key, value: m.value, headers: { ...m.headers, [INJECTED]: 'duplicate' } }]
  })
  function poison(): void {
    const topic = topics[poisoned % topics.length]!
    const value =
      poisoned % 2 === 0
        ? `not json ${poisoned}`
        : JSON.stringify({
            specversion: '1.0',
            id: randomUUID(),
            source: 'faults',
            type: topic.startsWith('order') ? 'order.placed' : 'stock.reserved',
            time: new Date().toISOString(),
            datacontenttype: 'application/json',
            data: { orderId: 'not-a-uuid' }
          })
    poisoned++
    pending.push(
      producer.send({ topic, messages: [{ key: randomUUID(), value, headers: { [INJECTED]: 'poison' } }] })
    )
  }

  return {
    async inject() {
      started = new Date().toISOString()
      await Promise.all([producer.connect(), consumer.connect(), admin.connect()])
      await consumer.subscribe({ topics, fromBeginning: false })
      const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve))
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          if (message.headers?.[INJECTED]) return // only the platform's own events
          duplicated += 2
          pending.push(producer.send(again(topic, message)), producer.send(again(topic, message)))
        }
      })
      await joined
      timer = setInterval(poison, 500)
    },
    async heal() {
      clearInterval(timer)
      await consumer.disconnect()
      await Promise.all(pending)
      await producer.disconnect()
      await admin.deleteGroups([groupId]).catch(() => undefined)
      await admin.disconnect()
    },
    async check() {
      const letters = (await listDeadLetters({ brokers, topics: topics.map((t) => `${t}.dlq`) })).filter(
        (l) => l.failedAt >= started
      )
      const good = letters.filter((l) => l.reason !== 'schema')
      // Each consumer group of a topic dead-letters a malformed message: count the messages.
      const malformed = new Set(
        letters
          .filter((l) => l.reason === 'schema')
          .map(
            (l) =>
              l.headers['dlq-origin-topic'] +
              '/' +
              l.headers['dlq-origin-partition'] +
              '/' +
              l.headers['dlq-origin-offset']
          )
      ).size
      return [
        invariant(
          'events were duplicated while the fault lasted',
          duplicated > 0 ? [] : ['none'],
          `${duplicated}`
        ),
        invariant(
          'exactly the malformed messages were dead-lettered, as schema violations',
          [
            ...(malformed !== poisoned
              ? [`${malformed} dead-lettered of ${poisoned} malformed messages`]
              : []),
            ...good.map((l) => `${l.type} ${l.id} dead-lettered (${l.reason}: ${l.error})`)
          ],
          `${poisoned} malformed, ${duplicated} duplicates`
        )
      ]
    }
  }
}
