import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { RequestDurationHistogram } from './request-duration.ts'

export interface Metrics {
  registry: Registry
  http: ReturnType<typeof httpMetrics>
}

/** A registry of the app's own (never prom-client's global one), with process metrics. */
export function createMetrics(options: { service: string; processMetrics?: boolean }): Metrics {
  const registry = new Registry()
  registry.setDefaultLabels({ service: options.service })
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry })
  return { registry, http: httpMetrics(registry) }
}

// Each helper returns the registry's existing metric when another part of the app made it first.
function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

/** HTTP RED metrics, labelled by route template (never the raw URL), method and status class. */
export function httpMetrics(registry: Registry) {
  return {
    duration: once(registry, 'http_request_duration_seconds', () =>
      new RequestDurationHistogram({
        name: 'http_request_duration_seconds',
        help: 'HTTP server request duration by route template, method and status class',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
      }).registerIn(registry)
    )
  }
}

export type BreakerState = 'closed' | 'half_open' | 'open'
const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 }

/** Circuit breaker state per upstream instance (0 closed, 1 half-open, 2 open) and its transitions. */
export function breakerMetrics(registry: Registry) {
  const state = once(
    registry,
    'circuit_breaker_state',
    () =>
      new Gauge({
        name: 'circuit_breaker_state',
        help: 'Circuit breaker state per upstream instance: 0 closed, 1 half-open, 2 open',
        labelNames: ['upstream', 'instance'] as const,
        registers: [registry]
      })
  )
  const transitions = once(
    registry,
    'circuit_breaker_transitions_total',
    () =>
      new Counter({
        name: 'circuit_breaker_transitions_total',
        help: 'Circuit breaker state changes per upstream and new state',
        labelNames: ['upstream', 'state'] as const,
        registers: [registry]
      })
  )
  return {
    state,
    transitions,
    record(upstream: string, instance: string, to: BreakerState): void {
      state.set({ upstream, instance }, BREAKER_STATE_VALUE[to])
      transitions.inc({ upstream, state: to })
    },
    /** Drops the series of an instance that left discovery, so the label set stays bounded. */
    forget(upstream: string, instance: string): void {
      state.remove({ upstream, instance })
    }
  }
}

/** Retries of calls to an upstream: sent, or refused because the retry budget was spent. */
export function retryMetrics(registry: Registry) {
  return once(
    registry,
    'upstream_retries_total',
    () =>
      new Counter({
        name: 'upstream_retries_total',
        help: 'Retries of calls to an upstream, by outcome: sent, or budget_exhausted (not sent)',
        labelNames: ['upstream', 'outcome'] as const,
        registers: [registry]
      })
  )
}

/** Kafka consumer lag per partition and the dead-letter count per source topic. */
export function consumerMetrics(registry: Registry) {
  return {
    lag: once(
      registry,
      'kafka_consumer_lag_messages',
      () =>
        new Gauge({
          name: 'kafka_consumer_lag_messages',
          help: 'Messages between the committed offset and the end of the partition',
          labelNames: ['group', 'topic', 'partition'] as const,
          registers: [registry]
        })
    ),
    deadLettered: once(
      registry,
      'kafka_dead_letter_messages_total',
      () =>
        new Counter({
          name: 'kafka_dead_letter_messages_total',
          help: 'Messages sent to the dead-letter topic, per source topic',
          labelNames: ['topic'] as const,
          registers: [registry]
        })
    ),
    batchFallbacks: once(
      registry,
      'kafka_consumer_batch_fallbacks_total',
      () =>
        new Counter({
          name: 'kafka_consumer_batch_fallbacks_total',
          help: 'Batches whose handler failed, so that their events were handled one by one',
          labelNames: ['topic'] as const,
          registers: [registry]
        })
    ),
    transientRetries: once(
      registry,
      'kafka_consumer_transient_retries_total',
      () =>
        new Counter({
          name: 'kafka_consumer_transient_retries_total',
          help: 'Retries of an event whose handler failed because a dependency was away (never dead-lettered)',
          labelNames: ['topic'] as const,
          registers: [registry]
        })
    ),
    replaced: once(
      registry,
      'kafka_consumer_replaced_total',
      () =>
        new Counter({
          name: 'kafka_consumer_replaced_total',
          help: 'Consumers replaced by a new one: crashed for good (kafkajs gave up) or stalled (no fetch, no heartbeat)',
          labelNames: ['group', 'reason'] as const,
          registers: [registry]
        })
    )
  }
}

/** Outbox rows committed but not yet published, and the age of the oldest. */
export function outboxMetrics(registry: Registry) {
  return {
    backlog: once(
      registry,
      'outbox_backlog_messages',
      () =>
        new Gauge({
          name: 'outbox_backlog_messages',
          help: 'Outbox rows not yet published',
          registers: [registry]
        })
    ),
    oldestAge: once(
      registry,
      'outbox_oldest_age_seconds',
      () =>
        new Gauge({
          name: 'outbox_oldest_age_seconds',
          help: 'Age of the oldest unpublished outbox row',
          registers: [registry]
        })
    ),
    published: once(
      registry,
      'outbox_published_total',
      () =>
        new Counter({ name: 'outbox_published_total', help: 'Outbox rows published', registers: [registry] })
    )
  }
}

/**
 * Outbound deliveries (email, webhooks…) per channel: attempts by outcome — `sent`, `retry` (failed,
 * will be tried again) or `failed` (given up: alert on it) — and how many wait to be sent.
 */
export function deliveryMetrics(registry: Registry) {
  return {
    attempts: once(
      registry,
      'deliveries_total',
      () =>
        new Counter({
          name: 'deliveries_total',
          help: 'Delivery attempts per channel and outcome (sent, retry, failed)',
          labelNames: ['channel', 'outcome'] as const,
          registers: [registry]
        })
    ),
    pending: once(
      registry,
      'deliveries_pending',
      () =>
        new Gauge({
          name: 'deliveries_pending',
          help: 'Deliveries waiting to be sent, per channel',
          labelNames: ['channel'] as const,
          registers: [registry]
        })
    )
  }
}

/** Cache lookups per cache and result: hit, miss, or error (the cache failed and was bypassed). */
export function cacheMetrics(registry: Registry) {
  return {
    requests: once(
      registry,
      'cache_requests_total',
      () =>
        new Counter({
          name: 'cache_requests_total',
          help: 'Cache lookups by cache and result (hit, miss, error)',
          labelNames: ['cache', 'result'] as const,
          registers: [registry]
        })
    )
  }
}

export interface PoolStats {
  total: number
  idle: number
  waiting: number
}

const poolSources = new WeakMap<Registry, Map<string, () => PoolStats>>()

/** Connection pool use: total, idle and waiting clients per pool, read from each pool at scrape time. */
export function poolMetrics(registry: Registry) {
  const sources = poolSources.get(registry) ?? new Map<string, () => PoolStats>()
  poolSources.set(registry, sources)
  const connections = once(
    registry,
    'db_pool_connections',
    () =>
      new Gauge({
        name: 'db_pool_connections',
        help: 'Pool clients by state (total, idle, waiting)',
        labelNames: ['pool', 'state'] as const,
        registers: [registry],
        collect() {
          for (const [pool, read] of sources) {
            const stats = read()
            this.set({ pool, state: 'total' }, stats.total)
            this.set({ pool, state: 'idle' }, stats.idle)
            this.set({ pool, state: 'waiting' }, stats.waiting)
          }
        }
      })
  )
  return {
    connections,
    /** Reports `read()` under `pool` from now on; the returned function stops it. */
    track(pool: string, read: () => PoolStats): () => void {
      sources.set(pool, read)
      return () => {
        sources.delete(pool)
        for (const state of ['total', 'idle', 'waiting']) connections.remove({ pool, state })
      }
    }
  }
}
