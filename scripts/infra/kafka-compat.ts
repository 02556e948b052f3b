// What kafkajs must be able to do against a broker version before the platform adopts it:
// the idempotent producer, consuming through a consumer group, and a rebalance when a second
// member joins. Run by scripts/infra/kafka-compat.sh against each candidate version.
import { randomUUID } from 'node:crypto'
import { Kafka, logLevel, type Consumer } from 'kafkajs'

const broker = `127.0.0.1:${process.env.KAFKA_PORT ?? '29092'}`
const kafka = new Kafka({ clientId: 'kafka-compat', brokers: [broker], logLevel: logLevel.ERROR })
const topic = `compat.${randomUUID()}`
const groupId = `compat-${randomUUID()}`
const total = 300

function check(name: string, ok: boolean, detail = ''): void {
  console.log(`${ok ? 'pass' : 'FAIL'}  ${name}${detail ? ` (${detail})` : ''}`)
  if (!ok) process.exitCode = 1
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

const admin = kafka.admin()
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
const consumers: Consumer[] = []
try {
  await admin.connect()
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 4, replicationFactor: 1 }]
  })

  await producer.connect()
  const firstHalf = Array.from({ length: total / 2 }, (_, i) => ({ key: `k${i % 12}`, value: String(i) }))
  const acks = await producer.send({ topic, acks: -1, messages: firstHalf })
  check(
    'idempotent producer: send acked by every partition leader',
    acks.every((a) => a.errorCode === 0)
  )

  const seen = new Map<string, string>()
  const assigned = new Map<string, number>()
  const start = async (member: string): Promise<Consumer> => {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 })
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assigned.set(member, (e.payload.memberAssignment[topic] ?? []).length)
    })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.set(message.value!.toString(), member)
      }
    })
    consumers.push(consumer)
    return consumer
  }

  await start('a')
  await within(
    30_000,
    'consumer group: first half',
    (async () => {
      while (seen.size < total / 2) await new Promise((r) => setTimeout(r, 50))
    })()
  )
  check(
    'consumer group: one member consumes every message',
    seen.size === total / 2,
    `${seen.size}/${total / 2}`
  )

  await start('b')
  await within(
    30_000,
    'rebalance',
    (async () => {
      while ((assigned.get('a') ?? 0) + (assigned.get('b') ?? 0) !== 4 || (assigned.get('b') ?? 0) === 0) {
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
  )
  const secondHalf = Array.from({ length: total / 2 }, (_, i) => ({
    key: `k${i % 12}`,
    value: String(total / 2 + i)
  }))
  await producer.send({ topic, acks: -1, messages: secondHalf })
  await within(
    30_000,
    'consumer group: second half',
    (async () => {
      while (seen.size < total) await new Promise((r) => setTimeout(r, 50))
    })()
  )
  const byB = [...seen.values()].filter((m) => m === 'b').length
  check(
    'rebalance: a second member takes partitions and both consume',
    byB > 0 && seen.size === total,
    `a=${assigned.get('a')} b=${assigned.get('b')} partitions, ${byB} messages by b`
  )
} catch (err) {
  check('kafkajs against this broker', false, (err as Error).message)
} finally {
  await Promise.allSettled(consumers.map((c) => c.disconnect()))
  await producer.disconnect().catch(() => {})
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.disconnect().catch(() => {})
}
