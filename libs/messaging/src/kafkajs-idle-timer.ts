import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

interface RequestQueue {
  pending: unknown[]
  throttledUntil: number
  throttleCheckTimeoutId: NodeJS.Timeout | null
  checkPendingRequests(): void
  scheduleCheckPendingRequests(): void
}

// kafkajs's own interval for re-checking requests that wait behind the in-flight limit.
const RECHECK_MS = 10

/**
 * kafkajs 2.2.4 keeps every broker connection's request queue on a 1 ms timer for as long as the
 * client lives (tulios/kafkajs#1751, unfixed in a release): `scheduleCheckPendingRequests` arms a
 * timer even when no request waits, at `throttledUntil - now`, which is negative unless the broker
 * throttles; Node runs a negative timeout after 1 ms, the check re-arms it, and so on: hundreds of
 * wake-ups a second in every service that holds a Kafka client, idle or not (bench/README.md has
 * the figures; Node 24 also prints a TimeoutNegativeWarning at the first one).
 *
 * This replaces that method with one that arms the timer only when a request waits: when the
 * broker's throttle ends, or after kafkajs's usual 10 ms. A request that has to wait calls it again
 * (`push`), and a finished request re-checks the queue itself (`fulfillRequest`), so nothing that
 * waits is left without a timer. Only 2.2.4 is changed: another version is left alone, and the test
 * of this file (an idle client's wake-ups, against the real broker) says whether it needs this.
 */
export function quietKafkajsIdleTimer(): boolean {
  const version = (require('kafkajs/package.json') as { version: string }).version
  if (version !== '2.2.4') return false
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueue
  }
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueue) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return
    const throttledFor = this.throttledUntil - Date.now()
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null
        this.checkPendingRequests()
      },
      throttledFor > 0 ? throttledFor : RECHECK_MS
    )
  }
  return true
}
