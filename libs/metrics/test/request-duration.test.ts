import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Histogram, Registry } from 'prom-client'
import { createMetrics, RequestDurationHistogram, type RequestLabels } from '../src/index.ts'

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const NAME = 'http_request_duration_seconds'
const HELP = 'request duration'

/** Exposition text with each sample's labels in one order, samples sorted: equal when the metrics are. */
function canonical(text: string): string[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line)
      if (!m) return line
      const labels = [...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort()
      return `${m[1]}{${labels.join(',')}} ${m[3]}`
    })
    .sort()
}

// Durations on, just above and below bounds, above the largest bound, and zero.
const observations: Array<[RequestLabels, number]> = [
  [{ method: 'GET', route: '/products/:id', status_class: '2xx' }, 0.003],
  [{ method: 'GET', route: '/products/:id', status_class: '2xx' }, 0.005],
  [{ method: 'GET', route: '/products/:id', status_class: '2xx' }, 0.0050001],
  [{ method: 'GET', route: '/products/:id', status_class: '2xx' }, 7],
  [{ method: 'GET', route: '/products/:id', status_class: '4xx' }, 0],
  [{ method: 'POST', route: '/products/:id', status_class: '2xx' }, 0.3],
  [{ method: 'GET', route: 'unmatched', status_class: '4xx' }, 1],
  [{ method: 'GET', route: '/a "quoted"\\path', status_class: '5xx' }, 2.4999]
]

function both(defaultLabels: Record<string, string> = {}) {
  const reference = new Registry()
  const ours = new Registry()
  reference.setDefaultLabels(defaultLabels)
  ours.setDefaultLabels(defaultLabels)
  const histogram = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['method', 'route', 'status_class'],
    buckets: BUCKETS,
    registers: [reference]
  })
  const duration = new RequestDurationHistogram({ name: NAME, help: HELP, buckets: BUCKETS }).registerIn(ours)
  return { reference, ours, histogram, duration }
}

test('the exposition equals a prom-client Histogram given the same observations', async () => {
  const { reference, ours, histogram, duration } = both({ service: 'catalog' })
  for (const [labels, seconds] of observations) {
    histogram.observe(labels, seconds)
    duration.record(labels.method, labels.route, Number(labels.status_class[0]) * 100 + 4, seconds)
  }
  const expected = canonical(await reference.metrics())
  const series = new Set(observations.map(([labels]) => JSON.stringify(labels))).size
  assert.equal(expected.length, 2 + series * (BUCKETS.length + 3)) // HELP, TYPE, buckets, +Inf, sum, count
  assert.deepEqual(canonical(await ours.metrics()), expected)

  // observe(labels, value) is the same as record()
  const again = both({ service: 'catalog' })
  for (const [labels, seconds] of observations) again.duration.observe(labels, seconds)
  assert.deepEqual(canonical(await again.ours.metrics()), expected)
})

test('getMetricsAsJSON, merged registries and resetMetrics see it as any prom-client metric', async () => {
  const { reference, ours, histogram, duration } = both({ service: 'order' })
  for (const [labels, seconds] of observations) {
    histogram.observe(labels, seconds)
    duration.observe(labels, seconds)
  }
  const key = (v: { metricName?: string; labels: object; value: number }) =>
    `${v.metricName} ${JSON.stringify(Object.entries(v.labels).sort())} ${v.value}`
  const [expected] = await reference.getMetricsAsJSON()
  const [actual] = await ours.getMetricsAsJSON()
  assert.deepEqual(
    { ...actual!, values: actual!.values.map(key).sort() },
    { ...expected!, values: expected!.values.map(key).sort() }
  )

  const other = new Registry()
  const merged = Registry.merge([ours, other])
  assert.equal(merged.getSingleMetric(NAME), duration as unknown)
  assert.match(await merged.metrics(), /http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*\} 1/)

  ours.resetMetrics()
  reference.resetMetrics()
  assert.deepEqual(canonical(await ours.metrics()), canonical(await reference.metrics()))
  assert.doesNotMatch(await ours.metrics(), /_count/)
})

test('createMetrics uses it, once per registry; bad input is refused', async () => {
  const metrics = createMetrics({ service: 'x', processMetrics: false })
  assert.ok(metrics.http.duration instanceof RequestDurationHistogram)
  assert.equal(metrics.registry.getSingleMetric(NAME), metrics.http.duration as unknown)
  assert.throws(
    () => new RequestDurationHistogram({ name: 'n', help: 'h', buckets: [0.1, 0.1] }),
    /distinct finite/
  )
  assert.throws(
    () => metrics.http.duration.observe({ method: 'GET', route: '/', status_class: 'ok' }, 1),
    /status class/
  )
  assert.throws(
    () => metrics.http.duration.observe({ method: 'GET', route: '/', status_class: '2xx' }, Number.NaN),
    /not a duration/
  )
  assert.doesNotMatch(await metrics.registry.metrics(), /_count/)
})
