// Weighted routing: a share of an upstream's traffic to a second target — a new version of the
// service (a canary), or the new service of a strangler migration while the legacy one keeps the
// rest. Each split is a key of Consul's KV store (platform/splits/<upstream>), watched by every
// gateway instance and changed at run time (scripts/split.ts). The choice is sticky: a caller (its
// token's subject, else its address) hashes to one of 100 buckets, and the target takes buckets
// below its weight — raising the weight only adds callers. A guard steps the weight back to 0 for
// every instance when the target's error or slow ratio over its window breaks the edge SLOs'
// fast-burn thresholds.
import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import { compareAndSet, readKey, watchPrefix, type ConsulClient, type KvEntry } from '@platform/discovery'
import { Counter, Gauge, Histogram, type Registry } from '@platform/metrics'
import type { Upstream as UpstreamClient } from '@platform/resilience'

export const SPLITS_PREFIX = 'platform/splits/'

/**
 * When the target is taken out. The defaults are the edge SLOs' fast-burn pages (14.4 times the
 * budget): 0.5 % of 5xx for availability (7.2 %), 1 % over 250 ms for latency (14.4 %).
 */
export const GuardSchema = Type.Object(
  {
    maxErrorRatio: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.072 }),
    maxSlowRatio: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.144 }),
    slowMs: Type.Integer({ minimum: 1, default: 250 }),
    /** Fewer requests in the window than this decide nothing. */
    minRequests: Type.Integer({ minimum: 1, default: 20 }),
    windowSeconds: Type.Integer({ minimum: 5, maximum: 600, default: 30 })
  },
  { additionalProperties: false }
)
export type Guard = Static<typeof GuardSchema>

export const SplitSchema = Type.Object(
  {
    /** The second target: a service name discovered through Consul like any upstream. */
    target: Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' }),
    /** Percentage of callers sent to it, 0–100. */
    weight: Type.Integer({ minimum: 0, maximum: 100 }),
    /** Only these routes of the upstream (`GET /products/:id`, as in the route table); all when absent. */
    routes: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+ /' }), { minItems: 1 })),
    guard: Type.Optional(Type.Partial(GuardSchema)),
    /** Set by the guard when it took the target out: when, why, and the weight it had. */
    rolledBack: Type.Optional(
      Type.Object({ at: Type.String(), reason: Type.String(), weight: Type.Integer() })
    )
  },
  { additionalProperties: false }
)
export type SplitConfig = Static<typeof SplitSchema>

/** A caller's bucket, 0–99, for one split: the same on every instance, independent between splits. */
export function bucketOf(caller: string, target: string): number {
  return createHash('sha1').update(`${target}\n${caller}`).digest().readUInt32BE(0) % 100
}

/** Requests, errors and slow answers per second over the last `seconds` seconds. */
export class Window {
  private readonly slots: Array<{ second: number; requests: number; errors: number; slow: number }>
  private readonly seconds: number
  constructor(seconds: number) {
    this.seconds = seconds
    this.slots = Array.from({ length: seconds }, () => ({ second: -1, requests: 0, errors: 0, slow: 0 }))
  }
  add(nowMs: number, error: boolean, slow: boolean): void {
    const second = Math.floor(nowMs / 1000)
    const slot = this.slots[second % this.seconds]!
    if (slot.second !== second) Object.assign(slot, { second, requests: 0, errors: 0, slow: 0 })
    slot.requests++
    if (error) slot.errors++
    if (slow) slot.slow++
  }
  totals(nowMs: number): { requests: number; errors: number; slow: number } {
    const since = Math.floor(nowMs / 1000) - this.seconds
    const live = this.slots.filter((s) => s.second > since)
    const sum = (k: 'requests' | 'errors' | 'slow') => live.reduce((n, s) => n + s[k], 0)
    return { requests: sum('requests'), errors: sum('errors'), slow: sum('slow') }
  }
}

/** Why the guard takes the target out, or undefined while it holds. */
export function verdict(
  guard: Guard,
  t: { requests: number; errors: number; slow: number }
): string | undefined {
  if (t.requests < guard.minRequests) return undefined
  const errors = t.errors / t.requests
  const slow = t.slow / t.requests
  if (errors > guard.maxErrorRatio)
    return `error ratio ${(errors * 100).toFixed(1)} % over ${t.requests} requests (limit ${+(guard.maxErrorRatio * 100).toFixed(2)} %)`
  if (slow > guard.maxSlowRatio)
    return `${(slow * 100).toFixed(1)} % of ${t.requests} requests slower than ${guard.slowMs} ms (limit ${+(guard.maxSlowRatio * 100).toFixed(2)} %)`
  return undefined
}

interface Active {
  upstream: string
  config: SplitConfig
  guard: Guard
  window: Window
  modifyIndex: number
  tripped: boolean
}

/** Where one request goes. */
export interface Choice {
  target: string
  client: UpstreamClient
  /** The split's second target, not the upstream itself. */
  split: boolean
}

export interface SplitsOptions {
  consul: ConsulClient | undefined
  /** The KV prefix of the splits, one key per upstream below it (default {@link SPLITS_PREFIX}). */
  prefix?: string
  registry: Registry
  log: FastifyBaseLogger
  /** The client of each route's upstream. */
  primary: (upstream: string) => UpstreamClient
  /** A client for a split's target, made the first time it is named. */
  clientFor: (target: string) => UpstreamClient
  now?: () => number
}

export interface Splits {
  /** The target of a request of `route` (`GET /products/:id`) to `upstream` by `caller`. */
  choose(upstream: string, route: string, caller: string): Choice
  /** An answer of `target` for `upstream`: its status (503 for no answer) and duration. */
  record(upstream: string, choice: Choice, status: number, seconds: number): void
  stop(): void
}

export function createSplits(options: SplitsOptions): Splits {
  const now = options.now ?? Date.now
  const prefix = options.prefix ?? SPLITS_PREFIX
  const active = new Map<string, Active>()
  const clients = new Map<string, UpstreamClient>()
  /** Each upstream's choice of itself: made once, not per request. */
  const primaries = new Map<string, Choice>()
  const duration = new Histogram({
    name: 'gateway_split_request_duration_seconds',
    help: 'Requests of a split upstream by the target that answered (the upstream itself or the split’s target)',
    labelNames: ['upstream', 'target', 'status_class'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [options.registry]
  })
  const weight = new Gauge({
    name: 'gateway_split_weight',
    help: 'Percentage of callers a split sends to its target',
    labelNames: ['upstream', 'target'] as const,
    registers: [options.registry]
  })
  const rollbacks = new Counter({
    name: 'gateway_split_rollbacks_total',
    help: 'Times the guard took a split’s target out (weight to 0)',
    labelNames: ['upstream', 'target'] as const,
    registers: [options.registry]
  })

  function apply(entries: KvEntry[]): void {
    const seen = new Set<string>()
    for (const entry of entries) {
      const upstream = entry.key.slice(prefix.length)
      if (!upstream || upstream.includes('/')) continue
      let config: SplitConfig
      try {
        const parsed: unknown = JSON.parse(entry.value)
        if (!Value.Check(SplitSchema, parsed))
          throw new Error([...Value.Errors(SplitSchema, parsed)][0]?.message)
        config = parsed
      } catch (err) {
        options.log.error(
          { key: entry.key, reason: (err as Error).message },
          'traffic split ignored: not a valid split (the previous one stands)'
        )
        seen.add(upstream)
        continue
      }
      seen.add(upstream)
      const previous = active.get(upstream)
      if (previous && previous.modifyIndex === entry.modifyIndex) continue
      const guard = Value.Default(GuardSchema, { ...config.guard }) as Guard
      // A weight changed on a healthy split keeps its window; anything else starts afresh.
      const keep =
        previous !== undefined &&
        !previous.tripped &&
        previous.config.weight > 0 &&
        config.weight > 0 &&
        previous.config.target === config.target &&
        previous.guard.windowSeconds === guard.windowSeconds
      active.set(upstream, {
        upstream,
        config,
        guard,
        window: keep ? previous.window : new Window(guard.windowSeconds),
        modifyIndex: entry.modifyIndex,
        tripped: false
      })
      if (previous && previous.config.target !== config.target)
        weight.remove({ upstream, target: previous.config.target })
      weight.set({ upstream, target: config.target }, config.weight)
      if (config.weight > 0) clientOf(config.target)
      options.log.info({ upstream, target: config.target, weight: config.weight }, 'traffic split set')
    }
    for (const [upstream, gone] of active)
      if (!seen.has(upstream)) {
        active.delete(upstream)
        weight.remove({ upstream, target: gone.config.target })
        options.log.info({ upstream, target: gone.config.target }, 'traffic split removed')
      }
  }

  /** A target's client, made when a split first names it (so discovery starts looking at once). */
  function clientOf(target: string): UpstreamClient {
    let client = clients.get(target)
    if (!client) clients.set(target, (client = options.clientFor(target)))
    return client
  }

  /** The target out, here at once and for every instance through Consul (compare-and-set). */
  async function trip(split: Active, reason: string): Promise<void> {
    split.tripped = true
    const from = split.config.weight
    split.config = { ...split.config, weight: 0 }
    weight.set({ upstream: split.upstream, target: split.config.target }, 0)
    rollbacks.inc({ upstream: split.upstream, target: split.config.target })
    options.log.warn(
      { upstream: split.upstream, target: split.config.target, from, reason },
      'traffic split rolled back: the target breaks its guard'
    )
    const consul = options.consul
    if (!consul) return
    const key = prefix + split.upstream
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await readKey(consul, key)
      if (!current) return
      const config = JSON.parse(current.value) as SplitConfig
      if (config.target !== split.config.target || config.weight === 0) return // changed meanwhile
      const next: SplitConfig = {
        ...config,
        weight: 0,
        rolledBack: { at: new Date(now()).toISOString(), reason, weight: config.weight }
      }
      if (await compareAndSet(consul, key, JSON.stringify(next), current.modifyIndex)) return
    }
  }

  const watch = options.consul
    ? watchPrefix({
        consul: options.consul,
        prefix,
        onChange: apply,
        onError: (err) => options.log.warn({ err }, 'consul unreachable: traffic splits stay as last known')
      })
    : undefined

  return {
    choose(upstream, route, caller) {
      const split = active.get(upstream)
      if (
        split &&
        split.config.weight > 0 &&
        (!split.config.routes || split.config.routes.includes(route)) &&
        bucketOf(caller, split.config.target) < split.config.weight
      ) {
        const target = split.config.target
        // Until discovery found an instance of it, the upstream keeps the target's callers.
        const client = clientOf(target)
        if (client.available()) return { target, client, split: true }
      }
      let primary = primaries.get(upstream)
      if (!primary)
        primaries.set(
          upstream,
          (primary = { target: upstream, client: options.primary(upstream), split: false })
        )
      return primary
    },
    record(upstream, choice, status, seconds) {
      const split = active.get(upstream)
      if (!split) return
      duration.observe(
        { upstream, target: choice.target, status_class: `${Math.floor(status / 100)}xx` },
        seconds
      )
      if (!choice.split || split.tripped || split.config.target !== choice.target) return
      const at = now()
      split.window.add(at, status >= 500, seconds * 1000 > split.guard.slowMs)
      const why = verdict(split.guard, split.window.totals(at))
      if (why)
        trip(split, why).catch((err: Error) =>
          options.log.error(
            { err, upstream },
            'traffic split: the rollback could not reach Consul (this instance stays at 0)'
          )
        )
    },
    stop: () => watch?.stop()
  }
}
