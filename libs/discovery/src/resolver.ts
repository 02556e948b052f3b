import type { ConsulClient } from './consul.ts'

export interface ResolverOptions {
  consul: ConsulClient
  service: string
  /** Longest a blocking query waits for a change. Default 30 s. */
  waitSeconds?: number
  /** Longest pause between retries while Consul is unreachable. Default 5 s. */
  maxBackoffMs?: number
  onError?: (err: Error) => void
}

export interface Resolver {
  /** Base URLs (`http://10.0.0.7:3000`) of the instances passing their checks, as last known. */
  instances(): readonly string[]
  /** Resolves after the first answer from Consul, or rejects after `ms`. */
  ready(ms?: number): Promise<void>
  /** Whether Consul has answered at least once (the list may still be empty). */
  answered(): boolean
  stop(): void
}

interface HealthEntry {
  Node: { Address: string }
  Service: { Address: string; Port: number }
}

/**
 * Follows a service's passing instances with Consul blocking queries into a local list, so a call
 * never waits on Consul. While Consul is unreachable the last known list keeps being answered and
 * the watch retries with backoff.
 */
export function createResolver(options: ResolverOptions): Resolver {
  let current: readonly string[] = []
  let answered = false
  const waiters: Array<() => void> = []
  const watch = options.consul.watch({
    method: options.consul.health.service,
    options: { service: options.service, passing: 'true', wait: `${options.waitSeconds ?? 30}s` },
    backoffFactor: 100,
    backoffMax: options.maxBackoffMs ?? 5000
  })
  watch.on('change', (entries: HealthEntry[]) => {
    current = Object.freeze(
      entries.map((e) => `http://${e.Service.Address || e.Node.Address}:${e.Service.Port}`)
    )
    answered = true
    waiters.splice(0).forEach((wake) => wake())
  })
  watch.on('error', (err: Error) => options.onError?.(err))

  return {
    instances: () => current,
    answered: () => answered,
    ready(ms = 5000) {
      if (answered) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no answer from Consul about ${options.service} within ${ms} ms`)),
          ms
        )
        waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    },
    stop: () => watch.end()
  }
}
