import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { eventually, stack } from '@platform/testing'
import { listDeadLetters, replayDeadLetters } from '../src/index.ts'
import { cancelled, collect, fixture } from './helpers.ts'

const run = promisify(execFile)

test('dead letters are listed with why they failed, and replayed to their topic once the cause is fixed', async (t) => {
  const f = await fixture(t)
  const dlq = `${f.topic}.dlq`
  const replayGroup = `test-replay-${randomUUID()}`
  const options = { brokers: stack.kafka.brokers, topics: [dlq], replayGroup }
  const stuck = cancelled(f.topic)
  const fine = cancelled(f.topic)
  let broken = true
  const consumed = await collect(f.bus, [f.topic], async (event) => {
    if (broken && event.envelope.id === stuck.envelope.id) throw new Error('stock service says no')
  })
  f.defer(() => consumed.stop())
  await f.bus.publish([
    stuck.message,
    { topic: f.topic, key: 'k', value: 'not json', headers: {} },
    fine.message
  ])

  const letters = await eventually(30_000, 'two dead letters listed', async () => {
    const found = await listDeadLetters(options)
    return found.length === 2 ? found : undefined
  })
  assert.deepEqual(
    letters.map((l) => [l.reason, l.error, l.originTopic, l.type, l.id]),
    [
      ['handler', 'stock service says no', f.topic, 'order.cancelled', stuck.envelope.id],
      ['schema', 'message is not JSON', f.topic, undefined, undefined]
    ]
  )
  assert.ok(!consumed.events.some((e) => e.envelope.id === stuck.envelope.id))

  // The cause is fixed: a dry run changes nothing, the replay applies the event; the poison
  // message fails again and is dead-lettered again.
  broken = false
  assert.equal((await replayDeadLetters({ ...options, dryRun: true })).replayed.length, 2)
  assert.equal((await listDeadLetters({ ...options, pending: true })).length, 2)
  const { replayed } = await replayDeadLetters(options)
  assert.equal(replayed.length, 2)
  await eventually(30_000, 'the replayed event applied', async () =>
    consumed.events.some((e) => e.envelope.id === stuck.envelope.id) ? true : undefined
  )
  const after = await eventually(30_000, 'the poison letter back in the DLQ', async () => {
    const all = await listDeadLetters(options)
    return all.length === 3 ? all : undefined
  })
  assert.equal(after[2]!.value, 'not json')
  assert.equal(
    after[2]!.headers['dlq-replayed-from'],
    `${dlq}/${letters[1]!.partition}/${letters[1]!.offset}`
  )
  // Only what came after the replay is pending.
  const pending = await listDeadLetters({ ...options, pending: true })
  assert.deepEqual(
    pending.map((l) => l.offset),
    [after[2]!.offset]
  )
  assert.equal(consumed.events.filter((e) => e.envelope.id === fine.envelope.id).length, 1)
})

test('the dlq command lists, replays chosen letters, and refuses bad input with a clear message', async (t) => {
  const f = await fixture(t)
  const dlq = `${f.topic}.dlq`
  const cli = fileURLToPath(new URL('../src/dlq-cli.ts', import.meta.url))
  const env = { ...process.env, KAFKA_BROKERS: stack.kafka.brokers.join(',') }
  const dlqCommand = (...args: string[]) =>
    run(process.execPath, ['--conditions=development', cli, ...args], { env }).catch(
      (err: { code: number; stdout: string; stderr: string }) => err
    )
  await f.bus.publish([
    {
      topic: dlq,
      key: 'k',
      value: 'not json',
      headers: { 'dlq-reason': 'schema', 'dlq-origin-topic': f.topic }
    }
  ])

  const listed = await dlqCommand('list', '--json', dlq)
  const letters = JSON.parse(listed.stdout) as Array<{
    dlq: string
    partition: number
    offset: string
    reason: string
  }>
  assert.deepEqual(
    letters.map((l) => l.reason),
    ['schema']
  )

  const missing = await dlqCommand('replay', '--only', `${dlq}/0/999`, dlq)
  assert.equal((missing as { code: number }).code, 1)
  assert.match(missing.stderr, /not found among the pending letters/)

  const chosen = `${letters[0]!.dlq}/${letters[0]!.partition}/${letters[0]!.offset}`
  const replayed = await dlqCommand('replay', '--only', chosen, dlq)
  assert.match(replayed.stdout, /^replayed 1 dead letter/)

  const unknown = await dlqCommand('list', 'no.such.topic.dlq')
  assert.equal((unknown as { code: number }).code, 1)
  assert.match(unknown.stderr, /no such DLQ topic: no\.such\.topic\.dlq/)
  const usage = await dlqCommand('purge')
  assert.equal((usage as { code: number }).code, 2)
  assert.match(usage.stderr, /^usage: dlq list/)
  const noBrokers = await run(process.execPath, ['--conditions=development', cli, 'list'], {
    env: { ...process.env, KAFKA_BROKERS: '' }
  }).catch((err: { code: number; stderr: string }) => err)
  assert.equal((noBrokers as { code: number }).code, 2)
  assert.match(noBrokers.stderr, /KAFKA_BROKERS is not set/)
})
