// Creates the platform's Kafka topics from deploy/kafka/topics.json (`ensure`), or checks that the
// broker answers and they all exist (`check`). Topic auto-creation is off on the broker, so this
// is the one place topics come from in the native stack.
import { readFileSync } from 'node:fs'
import { Kafka, logLevel } from 'kafkajs'

interface TopicSpec {
  name: string
  partitions?: number
  config?: Record<string, string>
}
interface TopicsFile {
  defaults: { partitions: number; replicationFactor: number }
  topics: TopicSpec[]
}

const mode = process.argv[2] ?? 'ensure'
const spec = JSON.parse(
  readFileSync(new URL('../../deploy/kafka/topics.json', import.meta.url), 'utf8')
) as TopicsFile
const broker = `127.0.0.1:${process.env.KAFKA_PORT ?? '29092'}`

const kafka = new Kafka({
  clientId: 'platform-infra',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  retry: { retries: mode === 'check' ? 0 : 12, initialRetryTime: 250 }
})
const admin = kafka.admin()
try {
  await admin.connect()
  const existing = new Set(await admin.listTopics())
  const missing = spec.topics.filter((t) => !existing.has(t.name))
  if (mode === 'check') {
    if (missing.length > 0) throw new Error(`missing topics: ${missing.map((t) => t.name).join(', ')}`)
  } else if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions ?? spec.defaults.partitions,
        replicationFactor: spec.defaults.replicationFactor,
        configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value }))
      }))
    })
    console.log(`created topics: ${missing.map((t) => t.name).join(', ')}`)
  }
} catch (err) {
  console.error(`kafka at ${broker}: ${(err as Error).message}`)
  process.exitCode = 1
} finally {
  await admin.disconnect()
}
