import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  breakerMetrics,
  deliveryMetrics,
  poolMetrics,
  createMetrics,
  outboxMetrics,
  readSample as sample
} from '../src/index.ts'

test('each app gets its own registry with process metrics and the service label', async () => {
  const a = createMetrics({ service: 'catalog' })
  const b = createMetrics({ service: 'order' })
  a.http.duration.observe({ method: 'GET', route: '/products/:id', status_class: '2xx' }, 0.003)

  const text = await a.registry.metrics()
  assert.notEqual(sample(text, 'process_cpu_seconds_total', { service: 'catalog' }), undefined)
  const labels = { service: 'catalog', method: 'GET', route: '/products/:id', status_class: '2xx' }
  assert.equal(sample(text, 'http_request_duration_seconds_count', labels), 1)
  assert.equal(
    sample(await b.registry.metrics(), 'http_request_duration_seconds_count', { route: '/products/:id' }),
    undefined
  )
})

test('helpers share one metric per registry, whoever asks first', async () => {
  const { registry } = createMetrics({ service: 'x', processMetrics: false })
  breakerMetrics(registry).record('catalog', '10.0.0.1:80', 'open')
  breakerMetrics(registry).record('catalog', '10.0.0.1:80', 'half_open')
  outboxMetrics(registry).backlog.set(7)
  deliveryMetrics(registry).attempts.inc({ channel: 'email', outcome: 'failed' })
  deliveryMetrics(registry).attempts.inc({ channel: 'email', outcome: 'failed' })

  const text = await registry.metrics()
  assert.equal(sample(text, 'circuit_breaker_state', { upstream: 'catalog', instance: '10.0.0.1:80' }), 1)
  assert.equal(sample(text, 'circuit_breaker_transitions_total', { upstream: 'catalog', state: 'open' }), 1)
  assert.equal(sample(text, 'outbox_backlog_messages', { service: 'x' }), 7)
  assert.equal(sample(text, 'deliveries_total', { channel: 'email', outcome: 'failed' }), 2)
})

test('pool use is read from every tracked pool at scrape time, and stops when untracked', async () => {
  const { registry } = createMetrics({ service: 'x', processMetrics: false })
  let idle = 3
  const untrackA = poolMetrics(registry).track('a', () => ({ total: 5, idle, waiting: 0 }))
  poolMetrics(registry).track('b', () => ({ total: 1, idle: 0, waiting: 2 }))

  idle = 4
  let text = await registry.metrics()
  assert.equal(sample(text, 'db_pool_connections', { pool: 'a', state: 'idle' }), 4)
  assert.equal(sample(text, 'db_pool_connections', { pool: 'b', state: 'waiting' }), 2)

  untrackA()
  text = await registry.metrics()
  assert.equal(sample(text, 'db_pool_connections', { pool: 'a', state: 'idle' }), undefined)
  assert.equal(sample(text, 'db_pool_connections', { pool: 'b', state: 'total' }), 1)
})
