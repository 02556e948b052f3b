import { randomUUID } from 'node:crypto'
import { LogController, type FastifyServerOptions } from 'fastify'
import { lazyChildLogger } from './lazy-child-logger.ts'

// An incoming X-Request-Id is kept only when it is short and plain: it ends up in every log line.
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export interface ServerOptions {
  /** pino options (see @platform/logging) or false. */
  logger: FastifyServerOptions['logger']
  /** Largest accepted body in bytes; larger ones get 413. Default 1 MiB. */
  bodyLimit?: number
  /** Longer than the edge's upstream keep-alive (NGINX: 60 s), so NGINX closes idle sockets first. */
  keepAliveTimeoutMs?: number
  /** Whole-request time limit in ms (slow clients), 0 for none. Default 30 s. */
  requestTimeoutMs?: number
  /** Proxies whose X-Forwarded-For is believed for `request.ip` (the edge). Default none. */
  trustProxy?: string | boolean
}

/** The Fastify constructor options every service uses. */
export function serverOptions(options: ServerOptions): FastifyServerOptions {
  return {
    logger: options.logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 72_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    requestIdHeader: false,
    genReqId(req) {
      const incoming = req.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    // One line per request costs more than the rest of the kit; NGINX logs every request at the edge.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    childLoggerFactory: lazyChildLogger,
    // onReady hooks include joining a Kafka consumer group, which after a crash waits for the dead
    // member's session to expire (10 s): allow well over that before calling the start failed.
    pluginTimeout: 60_000,
    // While a service drains (deregistered, not ready), traffic still reaches it until every
    // balancer has noticed (an edge's open keep-alive connections, a Service's endpoints): serve
    // it, each answer closing its connection, rather than refuse it with 503.
    return503OnClosing: false,
    trustProxy: options.trustProxy ?? false,
    forceCloseConnections: 'idle'
  }
}
