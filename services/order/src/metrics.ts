import { Histogram, type Registry } from '@platform/metrics'
import { EXPIRED } from './consumers/saga.ts'
import type { Order } from './domain/order.ts'

/**
 * `order_decision_seconds{outcome}`: from an order's 201 to its decision — `confirmed`, `rejected`
 * (by the catalog) or `expired` (no answer in ORDER_TIMEOUT_MS). The order-confirmation SLO
 * (deploy/slo/slos.yaml) counts decisions slower than its bound, and every expiry, as bad.
 */
export function decisionMetric(registry: Registry): (orders: Order[]) => void {
  const histogram = new Histogram({
    name: 'order_decision_seconds',
    help: 'Time from an order placed to its decision (confirmed, rejected, expired)',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry]
  })
  // Every outcome is present from the start, so a rate over it is 0, not absent, until one happens.
  for (const outcome of ['confirmed', 'rejected', 'expired']) histogram.zero({ outcome })
  return (orders) => {
    for (const order of orders) {
      const outcome =
        order.status === 'CONFIRMED' ? 'confirmed' : order.reason === EXPIRED ? 'expired' : 'rejected'
      const seconds = (Date.parse(order.updatedAt) - Date.parse(order.createdAt)) / 1000
      histogram.observe({ outcome }, Math.max(0, seconds))
    }
  }
}
