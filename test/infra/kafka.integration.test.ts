import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { eventually, stack } from '@platform/testing'

const topic = 'platform.smoke'

test('kafka: the idempotent producer writes, a consumer group reads it back', async (t) => {
  const kafka = new Kafka({
    clientId: 'smoke-test',
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING
  })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  const consumer = kafka.consumer({ groupId: `smoke-${randomUUID()}` })
  t.after(async () => {
    await consumer.disconnect()
    await producer.disconnect()
  })
  const runId = randomUUID()
  const values = ['one', 'two', 'three'].map((v) => `${runId}:${v}`)

  await producer.connect()
  const [ack] = await producer.send({
    topic,
    acks: -1,
    messages: values.map((value) => ({ key: runId, value }))
  })
  assert.equal(ack?.errorCode, 0)

  const received: string[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value?.toString() ?? ''
      if (value.startsWith(runId)) received.push(value)
    }
  })

  await eventually(30_000, 'all three messages consumed', async () =>
    received.length >= 3 ? true : undefined
  )
  assert.deepEqual(received, values) // one key → one partition → producer order
})

test('kafka: topics are not auto-created by producing to an unknown name', async (t) => {
  const kafka = new Kafka({
    clientId: 'smoke-test',
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1 }
  })
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  t.after(() => producer.disconnect())
  const admin = kafka.admin()
  await admin.connect()
  t.after(() => admin.disconnect())
  const name = `smoke.unknown.${randomUUID()}`

  await assert.rejects(producer.send({ topic: name, messages: [{ value: 'x' }] }))
  assert.equal((await admin.listTopics()).includes(name), false)
})
