import { randomUUID } from 'node:crypto'
import { Kafka, logLevel, Partitioners, type Admin, type IHeaders, type KafkaMessage } from 'kafkajs'
import { quietKafkajsIdleTimer } from './kafkajs-idle-timer.ts'

quietKafkajsIdleTimer()

/** A message a consumer could not apply, as `<topic>.dlq` holds it (see kafka-bus.ts). */
export interface DeadLetter {
  dlq: string
  partition: number
  offset: string
  key: string
  value: string
  headers: Record<string, string>
  /** `schema` (not a valid event: poison) or `handler` (applying it kept failing). */
  reason: string
  error: string
  originTopic: string
  attempts: number
  failedAt: string
  /** The consumer group that gave up on it (from its dlq-group header, when the writer set one). */
  group?: string
  /** The event's type and id, when the message is a readable envelope. */
  type?: string
  id?: string
}

export interface DeadLetterOptions {
  brokers: string[]
  /** DLQ topics to read; default every topic whose name ends in `.dlq`. */
  topics?: string[]
  /** The consumer group whose committed offsets mark what was replayed. */
  replayGroup?: string
}

export const REPLAY_GROUP = 'platform-dlq-replay'

const DLQ_HEADER = /^dlq-/

function stringHeaders(message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) out[name] = String(Array.isArray(value) ? value[0] : value)
  }
  return out
}

function toDeadLetter(dlq: string, partition: number, message: KafkaMessage): DeadLetter {
  const headers = stringHeaders(message)
  const value = message.value?.toString() ?? ''
  let type: string | undefined
  let id: string | undefined
  try {
    const envelope = JSON.parse(value) as { type?: unknown; id?: unknown }
    if (typeof envelope.type === 'string') type = envelope.type
    if (typeof envelope.id === 'string') id = envelope.id
  } catch {
    // poison: not JSON at all
  }
  return {
    dlq,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? '',
    value,
    headers,
    reason: headers['dlq-reason'] ?? 'unknown',
    error: headers['dlq-error'] ?? '',
    originTopic: headers['dlq-origin-topic'] ?? dlq.replace(/\.dlq$/, ''),
    attempts: Number(headers['dlq-attempts'] ?? 0),
    failedAt: headers['dlq-failed-at'] ?? '',
    ...(headers['dlq-group'] ? { group: headers['dlq-group'] } : {}),
    ...(type ? { type } : {}),
    ...(id ? { id } : {})
  }
}

type Range = Map<string, Map<number, { from: bigint; to: bigint }>>

/**
 * Reads the DLQs between the given offsets (per topic and partition, `to` exclusive) with a
 * throwaway consumer group, removed afterwards; it never moves any service's offsets.
 */
async function readRange(kafka: Kafka, admin: Admin, range: Range): Promise<DeadLetter[]> {
  const wanted = [...range].filter(([, parts]) => [...parts.values()].some((r) => r.from < r.to))
  if (wanted.length === 0) return []
  const groupId = `platform-dlq-reader-${randomUUID()}`
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false })
  const letters: DeadLetter[] = []
  let left = wanted.reduce((n, [, parts]) => n + [...parts.values()].filter((r) => r.from < r.to).length, 0)
  try {
    await consumer.connect()
    await consumer.subscribe({ topics: wanted.map(([topic]) => topic), fromBeginning: true })
    const done = new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            const bounds = range.get(topic)?.get(partition)
            if (!bounds) return
            const offset = BigInt(message.offset)
            if (offset >= bounds.from && offset < bounds.to)
              letters.push(toDeadLetter(topic, partition, message))
            if (offset === bounds.to - 1n && --left === 0) resolve()
          }
        })
        .catch(reject)
    })
    // Start each partition where the range starts (not at the beginning when part was replayed).
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [topic, parts] of wanted)
        for (const [partition, r] of parts) consumer.seek({ topic, partition, offset: String(r.from) })
    })
    await Promise.race([
      done,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('reading the DLQs took over 60 s')), 60_000).unref()
      )
    ])
  } finally {
    await consumer.disconnect()
    await admin.deleteGroups([groupId]).catch(() => undefined)
  }
  return letters.sort((a, b) =>
    a.dlq === b.dlq
      ? a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))
      : a.dlq < b.dlq
        ? -1
        : 1
  )
}

async function dlqTopics(admin: Admin, topics?: string[]): Promise<string[]> {
  const existing = await admin.listTopics()
  if (!topics) return existing.filter((t) => t.endsWith('.dlq')).sort()
  const missing = topics.filter((t) => !existing.includes(t))
  if (missing.length > 0) throw new Error(`no such DLQ topic: ${missing.join(', ')}`)
  return topics
}

/** For each DLQ partition: from where the replay group stopped (or the start) to the end. */
async function ranges(admin: Admin, topics: string[], group: string, all: boolean): Promise<Range> {
  const committed = all ? [] : await admin.fetchOffsets({ groupId: group, topics })
  const out: Range = new Map()
  for (const topic of topics) {
    const parts = new Map<number, { from: bigint; to: bigint }>()
    const done = committed.find((c) => c.topic === topic)?.partitions ?? []
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const mark = done.find((d) => d.partition === p.partition)?.offset
      const low = BigInt(p.low)
      const from = mark !== undefined && mark !== '-1' && BigInt(mark) > low ? BigInt(mark) : low
      parts.set(p.partition, { from, to: BigInt(p.high) })
    }
    out.set(topic, parts)
  }
  return out
}

function client(brokers: string[]) {
  return new Kafka({ clientId: 'platform-dlq', brokers, logLevel: logLevel.NOTHING })
}

/**
 * Every dead letter still in the DLQs (`pending: true`: only those not yet replayed), oldest
 * first per partition.
 */
export async function listDeadLetters(
  options: DeadLetterOptions & { pending?: boolean }
): Promise<DeadLetter[]> {
  const kafka = client(options.brokers)
  const admin = kafka.admin()
  await admin.connect()
  try {
    const topics = await dlqTopics(admin, options.topics)
    const range = await ranges(admin, topics, options.replayGroup ?? REPLAY_GROUP, !options.pending)
    return await readRange(kafka, admin, range)
  } finally {
    await admin.disconnect()
  }
}

/** Per `dlq/partition`: the offset below which the replay group has put every letter back. */
export async function replayMarks(options: DeadLetterOptions): Promise<Map<string, bigint>> {
  const admin = client(options.brokers).admin()
  await admin.connect()
  try {
    const topics = await dlqTopics(admin, options.topics)
    const committed = await admin.fetchOffsets({ groupId: options.replayGroup ?? REPLAY_GROUP, topics })
    const marks = new Map<string, bigint>()
    for (const { topic, partitions } of committed)
      for (const p of partitions)
        if (p.offset !== '-1') marks.set(`${topic}/${p.partition}`, BigInt(p.offset))
    return marks
  } finally {
    await admin.disconnect()
  }
}

/**
 * Publishes every dead letter not replayed yet back to the topic it came from — its own key,
 * value and headers, without the dlq-* ones, plus `dlq-replayed-from` — then records how far it
 * got, so the next replay starts after it. With `filter`, only the letters it picks are
 * published and nothing is recorded (the others stay pending). Consumers apply each event at most
 * once (inbox), so a letter replayed twice changes nothing; one that fails again is dead-lettered
 * again.
 */
export async function replayDeadLetters(
  options: DeadLetterOptions & { dryRun?: boolean; filter?: (letter: DeadLetter) => boolean }
): Promise<{ replayed: DeadLetter[]; skipped: DeadLetter[] }> {
  const kafka = client(options.brokers)
  const group = options.replayGroup ?? REPLAY_GROUP
  const admin = kafka.admin()
  await admin.connect()
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner
  })
  try {
    const topics = await dlqTopics(admin, options.topics)
    const range = await ranges(admin, topics, group, false)
    const letters = await readRange(kafka, admin, range)
    const chosen = letters.filter((l) => options.filter?.(l) ?? true)
    const skipped = letters.filter((l) => !chosen.includes(l))
    if (options.dryRun) return { replayed: chosen, skipped }
    if (chosen.length > 0) {
      await producer.connect()
      await producer.sendBatch({
        acks: -1,
        topicMessages: chosen.map((l) => ({
          topic: l.originTopic,
          messages: [
            {
              key: l.key,
              value: l.value,
              headers: {
                ...Object.fromEntries(Object.entries(l.headers).filter(([name]) => !DLQ_HEADER.test(name))),
                'dlq-replayed-from': `${l.dlq}/${l.partition}/${l.offset}`
              } as IHeaders
            }
          ]
        }))
      })
    }
    if (options.filter) return { replayed: chosen, skipped }
    for (const [topic, parts] of range) {
      const partitions = [...parts].map(([partition, r]) => ({ partition, offset: String(r.to) }))
      await admin.setOffsets({ groupId: group, topic, partitions })
    }
    return { replayed: chosen, skipped }
  } finally {
    await producer.disconnect()
    await admin.disconnect()
  }
}
