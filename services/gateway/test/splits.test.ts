import assert from 'node:assert/strict'
import { test } from 'node:test'
import Value from 'typebox/value'
import { bucketOf, GuardSchema, verdict, Window, type Guard } from '../src/splits.ts'

test('a caller keeps its bucket; buckets spread evenly; raising the weight only adds callers', () => {
  const callers = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)
  const buckets = callers.map((c) => bucketOf(c, 'catalog-v2'))
  assert.deepEqual(
    callers.map((c) => bucketOf(c, 'catalog-v2')),
    buckets,
    'the same bucket every time'
  )
  for (const weight of [10, 50]) {
    const share = buckets.filter((b) => b < weight).length / callers.length
    assert.ok(Math.abs(share - weight / 100) < 0.02, `${weight} %: ${share}`)
  }
  const at10 = callers.filter((_, i) => buckets[i]! < 10)
  assert.ok(
    at10.every((c) => bucketOf(c, 'catalog-v2') < 50),
    'the 10 % are among the 50 %'
  )
  // Another split's target buckets the same callers independently.
  const other = callers.filter((c) => bucketOf(c, 'search-v2') < 10)
  const both = other.filter((c) => at10.includes(c)).length
  assert.ok(both < 200, `independent splits: ${both} callers in both 10 %`)
})

test('the window counts the last seconds only', () => {
  const w = new Window(30)
  const t0 = 1_000_000_000
  for (let i = 0; i < 10; i++) w.add(t0 + i * 1000, i % 2 === 0, false)
  assert.deepEqual(w.totals(t0 + 9000), { requests: 10, errors: 5, slow: 0 })
  assert.deepEqual(w.totals(t0 + 35_000), { requests: 4, errors: 2, slow: 0 }, 'seconds 6–9 remain')
  assert.deepEqual(w.totals(t0 + 60_000), { requests: 0, errors: 0, slow: 0 })
  w.add(t0 + 60_000, false, true)
  assert.deepEqual(w.totals(t0 + 60_500), { requests: 1, errors: 0, slow: 1 }, 'a reused slot starts empty')
})

test('the guard: the edge SLOs’ fast-burn thresholds by default, nothing decided on too few requests', () => {
  const guard = Value.Default(GuardSchema, {}) as Guard
  assert.deepEqual(guard, {
    maxErrorRatio: 0.072,
    maxSlowRatio: 0.144,
    slowMs: 250,
    minRequests: 20,
    windowSeconds: 30
  })
  assert.equal(verdict(guard, { requests: 19, errors: 19, slow: 0 }), undefined)
  assert.equal(verdict(guard, { requests: 100, errors: 7, slow: 14 }), undefined)
  assert.match(
    verdict(guard, { requests: 100, errors: 8, slow: 0 }) ?? '',
    /^error ratio 8\.0 % over 100 requests/
  )
  assert.match(
    verdict(guard, { requests: 100, errors: 0, slow: 15 }) ?? '',
    /^15\.0 % of 100 requests slower than 250 ms/
  )
})
