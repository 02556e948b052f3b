import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'
import { cancelled, fixture } from './helpers.ts'

// Times this thread gave up the CPU by itself: each timer that fires in an otherwise idle process is one.
function wakeUps(): number {
  const status = readFileSync('/proc/thread-self/status', 'utf8')
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)![1])
}

test('an idle Kafka client does not wake its process every millisecond (kafkajs#1751)', async (t) => {
  const f = await fixture(t)
  await f.bus.publish([cancelled(f.topic).message]) // the producer is connected and has talked to the broker
  const subscription = await f.bus.subscribe({
    groupId: `idle-${f.topic}`,
    topics: [f.topic],
    handle: async () => {}
  })
  f.defer(() => subscription.stop())
  await sleep(500)

  const before = wakeUps()
  await sleep(2000)
  const idle = wakeUps() - before
  // Unfixed: ~900 a second per broker connection. Fixed: the consumer's fetches and heartbeats.
  assert.ok(idle < 300, `${idle} wake-ups in 2 s of idleness`)
})
