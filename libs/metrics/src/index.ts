export {
  breakerMetrics,
  cacheMetrics,
  consumerMetrics,
  deliveryMetrics,
  createMetrics,
  httpMetrics,
  outboxMetrics,
  poolMetrics,
  retryMetrics,
  type BreakerState,
  type PoolStats,
  type Metrics
} from './metrics.ts'
export { RequestDurationHistogram, type RequestLabels } from './request-duration.ts'
export { Counter, Gauge, Histogram, Registry } from 'prom-client'
export { readSample } from './read-sample.ts'
