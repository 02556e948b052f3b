export {
  breakerMetrics,
  cacheMetrics,
  consumerMetrics,
  deliveryMetrics,
  createMetrics,
  httpMetrics,
  outboxMetrics,
  poolMetrics,
  statusClass,
  type BreakerState,
  type PoolStats,
  type Metrics
} from './metrics.ts'
export { Registry } from 'prom-client'
export { readSample } from './read-sample.ts'
