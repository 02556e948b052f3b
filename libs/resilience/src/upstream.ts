import { setTimeout as sleep } from 'node:timers/promises'
import CircuitBreaker from 'opossum'
import { Readable } from 'node:stream'
import { Agent } from 'undici'
import { breakerMetrics, retryMetrics, type Metrics } from '@platform/metrics'
import { UpstreamUnavailableError } from './errors.ts'
import { backoffDelay, createRetryBudget, isIdempotent, type RetryBudgetOptions } from './retry.ts'

export interface UpstreamOptions {
  /** The upstream service's name, e.g. `catalog` (metrics, errors). */
  name: string
  /** Base URLs of its healthy instances, read on every call (from discovery, or fixed). */
  instances: () => readonly string[]
  metrics: Metrics
  /** Per attempt; the call is really cancelled (socket closed) when it expires. Default 1000 ms. */
  timeoutMs?: number
  /** Extra attempts: for idempotent calls, and for any call that never reached an instance. Default 2. */
  retries?: number
  retryBaseMs?: number
  /**
   * Longest wait before a retry. An instance that answers 503 with a longer Retry-After is not
   * retried (its answer is passed on); another instance, when there is one, is tried at once.
   * Default 1000 ms.
   */
  retryMaxMs?: number
  /** Retries across all calls of this client stay within this budget. Default 10 % of calls + 5/s. */
  retryBudget?: RetryBudgetOptions
  /** Calls in flight to this upstream; beyond it calls fail at once (UPSTREAM_BUSY). Default 64. */
  maxConcurrent?: number
  /** Keep-alive connections per instance. Default 32. */
  connectionsPerInstance?: number
  /**
   * Open streams per instance, on connections of their own: a stream holds its connection for as
   * long as it lives, and must never leave the regular calls waiting for one. Default 1024.
   */
  streamsPerInstance?: number
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
  /** Sent as JSON; a string or Buffer is sent as it is (set its content-type in `headers`). */
  body?: unknown
  /** Parse a JSON answer (default). False: the body comes back as the bytes received (a proxy). */
  parse?: boolean
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

/** An answer whose body is read as it arrives (Server-Sent Events, downloads). */
export interface UpstreamStream {
  statusCode: number
  headers: Record<string, string | string[] | undefined>
  body: Readable
  instance: string
}

export interface Upstream {
  request<T = unknown>(request: UpstreamRequest): Promise<UpstreamResponse<T>>
  /**
   * Opens a long-lived answer: one attempt, through the instance's breaker, with the timeout
   * applying until the headers arrive; the body then streams until either side ends it or
   * `request.signal` aborts. Not retried.
   */
  stream(request: UpstreamRequest): Promise<UpstreamStream>
  /** Whether it knows an instance to call (discovery found one, or a fixed URL is set). */
  available(): boolean
  close(): Promise<void>
}

// An instance's own 5xx answer (see ownFailure) counts against its breaker; it is still returned
// when no retry is left.
class ServerError extends Error {
  readonly response: UpstreamResponse

  constructor(response: UpstreamResponse) {
    super(`upstream answered ${response.statusCode}`)
    this.response = response
  }
}

/** The error code of a JSON answer (bytes or text when not parsed), if any. */
function answerCode(body: unknown): string | undefined {
  let value = body
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    try {
      value = JSON.parse(body.toString())
    } catch {
      return undefined
    }
  }
  const code = (value as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Whether a 5xx answer is the instance's own failure, which counts against its breaker and may be
 * retried: 500, 502, 504, and a 503 of an instance that refused (it shed load, OVERLOADED, or it
 * is not one of ours). A 503 reporting a dependency of the upstream (its database, a service it
 * calls) is not: the instance works, that upstream already retried at its own layer, and every
 * instance would say the same — it is passed on as an answer, and opens no breaker here.
 */
function ownFailure(statusCode: number, body: unknown): boolean {
  if (statusCode < 500) return false
  if (statusCode !== 503) return true
  const code = answerCode(body)
  return code === undefined || code === 'OVERLOADED'
}

// Failures before the request left: the connection was never made, so nothing reached the instance.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * Whether a failed attempt never reached the instance — refused by the breaker, or no connection
 * made (an instance that stopped listening: a restart, a roll) — so any call, a POST too, may go to
 * another one without risk of doing it twice.
 */
function neverSent(err: unknown): boolean {
  if (!(err instanceof UpstreamUnavailableError)) return false
  if (err.reason === 'circuit_open') return true
  if (err.reason !== 'unreachable') return false
  for (let cause = err.cause; cause; cause = (cause as { cause?: unknown }).cause) {
    const { code, errors } = cause as { code?: string; errors?: Array<{ code?: string }> }
    if (NOT_CONNECTED.has(code ?? '')) return true
    // A dual-stack connect (localhost: ::1, then 127.0.0.1) fails with every address's error.
    if (errors?.length && errors.every((e) => NOT_CONNECTED.has(e.code ?? ''))) return true
  }
  return false
}

/** Whether a failed attempt may be repeated: no answer, a timeout, 502, 504, an instance's 503. */
function retryable(err: unknown): boolean {
  if (err instanceof UpstreamUnavailableError)
    return err.reason === 'timeout' || err.reason === 'unreachable' || err.reason === 'circuit_open'
  return err instanceof ServerError && err.response.statusCode !== 500
}

function retryAfterMs(err: unknown): number {
  if (!(err instanceof ServerError)) return 0
  const seconds = Number(err.response.headers['retry-after'])
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0
}

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
  const retryMaxMs = options.retryMaxMs ?? 1000
  const budget = createRetryBudget(options.retryBudget)
  const retryCount = retryMetrics(options.metrics.registry)
  retryCount.inc({ upstream: name, outcome: 'sent' }, 0)
  retryCount.inc({ upstream: name, outcome: 'budget_exhausted' }, 0)
  const maxConcurrent = options.maxConcurrent ?? 64
  const resetTimeoutMs = options.breaker?.resetTimeoutMs ?? 5000
  const agent = new Agent({ connections: options.connectionsPerInstance ?? 32, keepAliveTimeout: 30_000 })
  const streamAgent = new Agent({ connections: options.streamsPerInstance ?? 1024, keepAliveTimeout: 30_000 })
  const stateMetrics = breakerMetrics(options.metrics.registry)
  // One breaker per instance; its action runs whatever call it is given (a request, a stream's opening).
  const breakers = new Map<string, CircuitBreaker<[() => Promise<unknown>], unknown>>()
  let next = 0
  let inFlight = 0

  async function send(
    instance: string,
    request: UpstreamRequest,
    signal: AbortSignal
  ): Promise<UpstreamResponse> {
    const res = await dispatch(instance, request, signal)
    let body: unknown
    if (request.parse === false) {
      body = Buffer.from(await res.body.arrayBuffer())
    } else {
      const text = await res.body.text()
      const json = String(res.headers['content-type'] ?? '').includes('json') && text.length > 0
      body = json ? JSON.parse(text) : text
    }
    const response = { statusCode: res.statusCode, headers: res.headers, body, instance }
    if (ownFailure(res.statusCode, body)) throw new ServerError(response)
    return response
  }

  function dispatch(instance: string, request: UpstreamRequest, signal: AbortSignal, via: Agent = agent) {
    const raw = typeof request.body === 'string' || Buffer.isBuffer(request.body)
    const json = request.body !== undefined && !raw
    return via.request({
      origin: instance,
      path: request.path,
      method: request.method as 'GET',
      headers: {
        accept: 'application/json',
        ...(json ? { 'content-type': 'application/json' } : {}),
        ...request.headers
      },
      body: json ? JSON.stringify(request.body) : raw ? (request.body as string | Buffer) : null,
      signal
    })
  }

  // The breaker of a stream sees the connection and the headers only: resolved once they arrive.
  async function open(
    instance: string,
    request: UpstreamRequest,
    signal: AbortSignal
  ): Promise<UpstreamStream> {
    const res = await dispatch(instance, request, signal, streamAgent)
    if (res.statusCode >= 500) {
      const text = await res.body.text().catch(() => '')
      const response = { statusCode: res.statusCode, headers: res.headers, body: text, instance }
      if (ownFailure(res.statusCode, text)) throw new ServerError(response)
      return { ...response, body: Readable.from([text]) }
    }
    return { statusCode: res.statusCode, headers: res.headers, body: res.body, instance }
  }

  function breakerFor(instance: string) {
    let breaker = breakers.get(instance)
    if (!breaker) {
      breaker = new CircuitBreaker((run: () => Promise<unknown>) => run(), {
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

  const usable = (instance: string) => {
    const breaker = breakers.get(instance)
    return !breaker || !breaker.opened || breaker.halfOpen
  }

  /** The next instance whose breaker lets calls through, other than `avoid` when there is one. */
  function pick(avoid?: string): string {
    const instances = options.instances()
    if (instances.length === 0) throw new UpstreamUnavailableError(name, 'no_instance', 1)
    for (const pass of avoid ? [true, false] : [false]) {
      for (let i = 0; i < instances.length; i++) {
        const instance = instances[(next + i) % instances.length]!
        if ((pass && instance === avoid) || !usable(instance)) continue
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

  /** The typed error for a call that failed without an answer (or the answer, for a 5xx). */
  function classify(err: unknown, request: UpstreamRequest, timedOut: boolean): unknown {
    if (err instanceof ServerError || err instanceof UpstreamUnavailableError) return err
    if (request.signal?.aborted) return err
    if ((err as { code?: string }).code === 'EOPENBREAKER')
      return new UpstreamUnavailableError(name, 'circuit_open', resetTimeoutMs / 1000, err)
    if (timedOut) return new UpstreamUnavailableError(name, 'timeout', 1, err)
    return new UpstreamUnavailableError(name, 'unreachable', 1, err)
  }

  async function attempt(request: UpstreamRequest, tried: { instance?: string }): Promise<UpstreamResponse> {
    const instance = pick(tried.instance)
    tried.instance = instance
    // A plain timer and controller per attempt: AbortSignal.timeout() and AbortSignal.any() cost
    // several times more, and undici's own timeouts are only accurate to about a second.
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort(new DOMException('no answer in time', 'TimeoutError'))
    }, request.timeoutMs ?? timeoutMs)
    const signal = request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal
    try {
      return (await breakerFor(instance).fire(() => send(instance, request, signal))) as UpstreamResponse
    } catch (err) {
      throw classify(err, request, timedOut)
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    available: () => options.instances().length > 0,
    async request<T>(request: UpstreamRequest): Promise<UpstreamResponse<T>> {
      if (inFlight >= maxConcurrent) throw new UpstreamUnavailableError(name, 'busy', 1)
      inFlight++
      try {
        forgetGone()
        budget.recordCall()
        const safe = request.idempotent || isIdempotent(request.method)
        const tried: { instance?: string } = {}
        for (let i = 0; ; i++) {
          try {
            return (await attempt(request, tried)) as UpstreamResponse<T>
          } catch (err) {
            // Retry-After binds the instance that said it: another one is tried at once, the
            // same one only after it, and not at all when it is longer than we would wait.
            const elsewhere = options.instances().some((other) => other !== tried.instance && usable(other))
            const after = elsewhere ? 0 : retryAfterMs(err)
            const again =
              (safe ? retryable(err) : neverSent(err)) &&
              i < retries &&
              !request.signal?.aborted &&
              after <= retryMaxMs
            if (again && !budget.tryRetry()) {
              retryCount.inc({ upstream: name, outcome: 'budget_exhausted' })
            } else if (again) {
              retryCount.inc({ upstream: name, outcome: 'sent' })
              const backoff = backoffDelay(i, options.retryBaseMs ?? 50, retryMaxMs)
              await sleep(Math.max(after, backoff), undefined, { signal: request.signal })
              continue
            }
            if (err instanceof ServerError) return err.response as UpstreamResponse<T>
            throw err
          }
        }
      } finally {
        inFlight--
      }
    },

    async stream(request: UpstreamRequest): Promise<UpstreamStream> {
      forgetGone()
      const instance = pick()
      // The timeout covers connecting and the headers; the body then lives until either side ends.
      const controller = new AbortController()
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        controller.abort(new DOMException('no answer in time', 'TimeoutError'))
      }, request.timeoutMs ?? timeoutMs)
      const stop = () => controller.abort(request.signal?.reason)
      request.signal?.addEventListener('abort', stop, { once: true })
      try {
        return (await breakerFor(instance).fire(() =>
          open(instance, request, controller.signal)
        )) as UpstreamStream
      } catch (err) {
        request.signal?.removeEventListener('abort', stop)
        const failure = classify(err, request, timedOut)
        if (failure instanceof ServerError)
          throw new UpstreamUnavailableError(name, 'unreachable', 1, failure)
        throw failure
      } finally {
        clearTimeout(timer)
      }
    },

    async close() {
      for (const breaker of breakers.values()) breaker.shutdown()
      breakers.clear()
      await Promise.all([agent.close(), streamAgent.close()])
    }
  }
}
