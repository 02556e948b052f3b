import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Metrics } from '@platform/metrics'
import { errorBody, handleError } from './error-handler.ts'
import { createReadiness, type Readiness } from './readiness.ts'
import { validatorCompiler } from './validation.ts'

export type { Readiness }

/** The fixed order of shutdown after the server has stopped accepting and drained requests. */
export type ShutdownPhase = 'deregister' | 'stopConsumers' | 'flush' | 'closePools'

export interface Lifecycle {
  /** Adds work to a shutdown phase. Phases run in order; the work inside one phase runs together. */
  onShutdown(phase: ShutdownPhase, fn: () => Promise<void> | void): void
  readonly shuttingDown: boolean
}

export interface HttpKitOptions {
  metrics: Metrics
  /** How long /health/ready reuses a result, so probes don't hammer dependencies. Default 1000 ms. */
  readinessCacheMs?: number
  /** After marking not-ready and deregistering, wait this long before refusing new connections,
   *  so load balancers and discovery stop sending traffic first. Default 0 (tests); ~2 s deployed. */
  drainDelayMs?: number
  loadShedding?: {
    /** Shed when the event loop lags more than this. Default 500 ms. */
    maxEventLoopDelayMs?: number
    /** Shed when the event loop was busier than this share of the last interval. Off by default:
     *  a server at full throughput is ~100 % busy yet healthy (bench/README.md). */
    maxEventLoopUtilization?: number
    /**
     * Requests handled at once; beyond it a request is refused at once with 503 OVERLOADED, before
     * any other work (authentication included), instead of queueing behind the others. Routes
     * with `config: { longLived: true }` (streams) are not counted. Off by default.
     */
    maxInFlight?: number
    /** Retry-After for shed requests, in seconds. Default 1. */
    retryAfterSeconds?: number
    sampleIntervalMs?: number
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness
    lifecycle: Lifecycle
  }
  interface FastifyContextConfig {
    /** A request that lives for minutes (a stream): not counted against `maxInFlight`. */
    longLived?: boolean
  }
}

// Probes and scrapes are answered even under load, or an orchestrator would kill a busy pod.
const NEVER_SHED = { pressureHandler: () => undefined }

async function kit(app: FastifyInstance, options: HttpKitOptions): Promise<void> {
  const { registry, http } = options.metrics
  const readiness = createReadiness(options.readinessCacheMs ?? 1000)
  const phases: Record<ShutdownPhase, Array<() => Promise<void> | void>> = {
    deregister: [],
    stopConsumers: [],
    flush: [],
    closePools: []
  }
  let shuttingDown = false
  const runPhase = async (phase: ShutdownPhase) => {
    const results = await Promise.allSettled(phases[phase].map(async (fn) => fn()))
    for (const r of results)
      if (r.status === 'rejected') app.log.error({ err: r.reason, phase }, 'shutdown step failed')
  }

  app.decorate('readiness', readiness)
  app.decorate('lifecycle', {
    onShutdown: (phase: ShutdownPhase, fn: () => Promise<void> | void) => void phases[phase].push(fn),
    get shuttingDown() {
      return shuttingDown
    }
  })

  // Callback-style hooks: an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    // Node's server.close() waits for keep-alive sockets (an edge's upstream pool holds them open):
    // every response sent while shutting down closes its connection, so draining ends.
    if (shuttingDown) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('onResponse', (request, reply, done) => {
    http.duration.record(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000
    )
    done()
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setErrorHandler(handleError)
  app.setNotFoundHandler((request: FastifyRequest, reply) => {
    reply
      .code(404)
      .send(
        errorBody(request, 'ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)
      )
  })

  const shed = options.loadShedding ?? {}
  const retryAfter = shed.retryAfterSeconds ?? 1
  await app.register(underPressure, {
    maxEventLoopDelay: shed.maxEventLoopDelayMs ?? 500,
    maxEventLoopUtilization: shed.maxEventLoopUtilization ?? 0,
    // Busy share of the last sample interval; the default (since start) would never recover.
    eventLoopUtilizationMode: 'interval',
    sampleInterval: shed.sampleIntervalMs ?? 250,
    // Sending here ends the request: Fastify skips the rest of the lifecycle once a reply is sent.
    pressureHandler: (request, reply) => {
      reply
        .code(503)
        .header('retry-after', String(retryAfter))
        .send(errorBody(request, 'OVERLOADED', 'the service is overloaded, retry later'))
    }
  })

  const maxInFlight = shed.maxInFlight ?? 0
  if (maxInFlight > 0) {
    // Counted until the response closes (finished or aborted): the one event every request ends with.
    let inFlight = 0
    const release = () => void inFlight--
    app.addHook('onRequest', (request, reply, next) => {
      const config = request.routeOptions.config
      if (config.longLived || (config as { pressureHandler?: unknown }).pressureHandler) return next()
      if (inFlight >= maxInFlight) {
        reply
          .code(503)
          .header('retry-after', String(retryAfter))
          .send(
            errorBody(request, 'OVERLOADED', 'the service is at its limit of requests in flight, retry later')
          )
        return
      }
      inFlight++
      reply.raw.once('close', release)
      next()
    })
  }

  app.get('/health/live', { config: NEVER_SHED }, async () => ({ status: 'ok' }))
  app.get('/health/ready', { config: NEVER_SHED }, async (_request, reply) => {
    if (shuttingDown) return reply.code(503).send({ status: 'shutting_down', checks: {} })
    const report = await readiness.report()
    return reply.code(report.status === 'ok' ? 200 : 503).send(report)
  })
  app.get('/metrics', { config: NEVER_SHED }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })

  // Shutdown: not-ready and deregistered first; Fastify then stops accepting and waits for
  // in-flight requests; only then consumers stop, buffers flush and pools close.
  app.addHook('preClose', async () => {
    shuttingDown = true
    await runPhase('deregister')
    if (options.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, options.drainDelayMs))
  })
  app.addHook('onClose', async () => {
    await runPhase('stopConsumers')
    await runPhase('flush')
    await runPhase('closePools')
  })
}

/** The chassis every service registers first: see the README for what it adds. */
export const httpKit = fp(kit, { name: '@platform/http-kit', fastify: '5.x' })
