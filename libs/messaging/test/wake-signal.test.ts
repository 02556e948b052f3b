import assert from 'node:assert/strict'
import { test } from 'node:test'
import { wakeSignal } from '../src/outbox.ts'

test('a notification that comes before the wait ends that wait at once', async () => {
  const signal = wakeSignal()
  signal.reset()
  signal.notify() // e.g. a row committed while the relay was draining
  const started = performance.now()
  await signal.wait(60_000)
  assert.ok(performance.now() - started < 1_000)
})

test('a notification during the wait ends it; without one the wait lasts its time', async () => {
  const signal = wakeSignal()
  let ended = false
  const waiting = signal.wait(60_000).then(() => (ended = true))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(ended, false)
  signal.notify()
  await waiting
  assert.equal(ended, true)

  signal.reset() // forgets the notification above
  const started = performance.now()
  await signal.wait(50)
  assert.ok(performance.now() - started >= 45, 'waited for the timer')
})
