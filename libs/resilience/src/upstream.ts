import { setTimeout as sleep } from 'node:timers/promises'
import CircuitBreaker from 'opossum'
import { Agent } from 'undici'
import { breakerMetrics, type Metrics } from '@platform/metrics'
import { UpstreamUnavailableError } from './errors.ts'
import { backoffDelay, isIdempotent } from './retry.ts'

export interface UpstreamOptions {
  /** The upstream service's name, e.g. `catalog` (metrics, errors). */
  name: string
  /** Base URLs of its healthy instances, read on every call (from discovery, or fixed). */
  instances: () => readonly string[]
  metrics: Metrics
  /** Per attempt; the call is really cancelled (socket closed) when it expires. Default 1000 ms. */
  timeoutMs?: number
  /** Extra attempts for idempotent calls only. Default 2. */
  retries?: number
  retryBaseMs?: number
  retryMaxMs?: number
  /** Calls in flight to this upstream; beyond it calls fail at once (UPSTREAM_BUSY). Default 64. */
  maxConcurrent?: number
  /** Keep-alive connections per instance. Default 32. */
  connectionsPerInstance?: number
  breaker?: {
    /** Failure share over the window that opens the breaker. Default 50 %. */
    errorThresholdPercentage?: number
    /** Calls in the window before the breaker may open at all. Default 10 (opossum's is 0). */
    volumeThreshold?: number
    rollingWindowMs?: number
    /** Open → half-open after this long. Default 5000 ms. */
    resetTimeoutMs?: number
  }
}

export interface UpstreamRequest {
  method: string
  path: string
  headers?: Record<string, string>
  body?: unknown
  /** Allow retries of a non-idempotent method (a POST carrying an Idempotency-Key). */
  idempotent?: boolean
  signal?: AbortSignal
  timeoutMs?: number
}

export interface UpstreamResponse<T = unknown> {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: T
  instance: string
}

export interface Upstream {
  request<T = unknown>(request: UpstreamRequest): Promise<UpstreamResponse<T>>
  close(): Promise<void>
}

// A 5xx answer counts against the breaker; it is still returned when no retry is left.
class ServerError extends Error {
  readonly response: UpstreamResponse

  constructor(response: UpstreamResponse) {
    super(`upstream answered ${response.statusCode}`)
    this.response = response
  }
}

const RETRYABLE_STATUS = new Set([502, 503, 504])

/**
 * A client for one upstream service: round-robin over its instances, skipping those whose breaker
 * is open; per-instance opossum breakers; a timeout that aborts the request; retries with
 * exponential backoff and full jitter for idempotent calls only; a cap on calls in flight.
 * Whatever goes wrong surfaces as {@link UpstreamUnavailableError} (503 + Retry-After) or as the
 * upstream's own answer.
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  const { name } = options
  const timeoutMs = options.timeoutMs ?? 1000
  const retries = options.retries ?? 2
  const maxConcurrent = options.maxConcurrent ?? 64
  const resetTimeoutMs = options.breaker?.resetTimeoutMs ?? 5000
  const agent = new Agent({ connections: options.connectionsPerInstance ?? 32, keepAliveTimeout: 30_000 })
  const stateMetrics = breakerMetrics(options.metrics.registry)
  const breakers = new Map<string, CircuitBreaker<[string, UpstreamRequest, AbortSignal], UpstreamResponse>>()
  let next = 0
  let inFlight = 0

  async function send(
    instance: string,
    request: UpstreamRequest,
    signal: AbortSignal
  ): Promise<UpstreamResponse> {
    const hasBody = request.body !== undefined
    const res = await agent.request({
      origin: instance,
      path: request.path,
      method: request.method as 'GET',
      headers: {
        accept: 'application/json',
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        ...request.headers
      },
      body: hasBody ? JSON.stringify(request.body) : null,
      signal
    })
    const text = await res.body.text()
    const json = String(res.headers['content-type'] ?? '').includes('json') && text.length > 0
    const response = {
      statusCode: res.statusCode,
      headers: res.headers,
      body: json ? JSON.parse(text) : text,
      instance
    }
    if (res.statusCode >= 500) throw new ServerError(response)
    return response
  }

  function breakerFor(instance: string) {
    let breaker = breakers.get(instance)
    if (!breaker) {
      breaker = new CircuitBreaker(send, {
        timeout: false, // the request's own AbortSignal times it out and closes the socket
        errorThresholdPercentage: options.breaker?.errorThresholdPercentage ?? 50,
        volumeThreshold: options.breaker?.volumeThreshold ?? 10,
        rollingCountTimeout: options.breaker?.rollingWindowMs ?? 10_000,
        rollingCountBuckets: 10,
        resetTimeout: resetTimeoutMs,
        // A caller that gave up (client went away) says nothing about the upstream's health.
        // (A timeout rejects with a TimeoutError and does count.)
        errorFilter: (err: Error) => err.name === 'AbortError'
      })
      const label = new URL(instance).host
      breaker.on('open', () => stateMetrics.record(name, label, 'open'))
      breaker.on('halfOpen', () => stateMetrics.record(name, label, 'half_open'))
      breaker.on('close', () => stateMetrics.record(name, label, 'closed'))
      stateMetrics.state.set({ upstream: name, instance: label }, 0) // closed; not a transition
      breakers.set(instance, breaker)
    }
    return breaker
  }

  function pick(): string {
    const instances = options.instances()
    if (instances.length === 0) throw new UpstreamUnavailableError(name, 'no_instance', 1)
    for (let i = 0; i < instances.length; i++) {
      const instance = instances[(next + i) % instances.length]!
      const breaker = breakers.get(instance)
      if (!breaker || !breaker.opened || breaker.halfOpen) {
        next = (next + i + 1) % instances.length
        return instance
      }
    }
    throw new UpstreamUnavailableError(name, 'circuit_open', resetTimeoutMs / 1000)
  }

  function forgetGone(): void {
    if (breakers.size <= options.instances().length) return
    const live = new Set(options.instances())
    for (const [instance, breaker] of breakers) {
      if (live.has(instance)) continue
      breaker.shutdown()
      breakers.delete(instance)
      stateMetrics.forget(name, new URL(instance).host)
    }
  }

  async function attempt(request: UpstreamRequest): Promise<UpstreamResponse> {
    const instance = pick()
    const timeout = AbortSignal.timeout(request.timeoutMs ?? timeoutMs)
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout
    try {
      return await breakerFor(instance).fire(instance, request, signal)
    } catch (err) {
      if (err instanceof ServerError || err instanceof UpstreamUnavailableError) throw err
      if (request.signal?.aborted) throw err
      if ((err as { code?: string }).code === 'EOPENBREAKER')
        throw new UpstreamUnavailableError(name, 'circuit_open', resetTimeoutMs / 1000, err)
      if (timeout.aborted) throw new UpstreamUnavailableError(name, 'timeout', 1, err)
      throw new UpstreamUnavailableError(name, 'unreachable', 1, err)
    }
  }

  return {
    async request<T>(request: UpstreamRequest): Promise<UpstreamResponse<T>> {
      if (inFlight >= maxConcurrent) throw new UpstreamUnavailableError(name, 'busy', 1)
      inFlight++
      try {
        forgetGone()
        const attempts = request.idempotent || isIdempotent(request.method) ? 1 + retries : 1
        for (let i = 0; ; i++) {
          try {
            return (await attempt(request)) as UpstreamResponse<T>
          } catch (err) {
            const retryable =
              (err instanceof ServerError && RETRYABLE_STATUS.has(err.response.statusCode)) ||
              (err instanceof UpstreamUnavailableError && err.reason !== 'no_instance')
            if (!retryable || i + 1 >= attempts || request.signal?.aborted) {
              if (err instanceof ServerError) return err.response as UpstreamResponse<T>
              throw err
            }
            await sleep(backoffDelay(i, options.retryBaseMs ?? 50, options.retryMaxMs ?? 1000), undefined, {
              signal: request.signal
            })
          }
        }
      } finally {
        inFlight--
      }
    },

    async close() {
      for (const breaker of breakers.values()) breaker.shutdown()
      breakers.clear()
      await agent.close()
    }
  }
}
