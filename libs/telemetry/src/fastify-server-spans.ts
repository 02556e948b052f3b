// The server span of every Fastify request — what `@fastify/otel` gave the platform, with its
// lifecycle-hook and handler spans off, written for the one span it kept (libs/telemetry/README.md
// says why, bench/README.md what it saves). Per request: one `onRequest` hook starts a SERVER span
// whose parent is the caller's W3C trace context, makes it the active context for the rest of the
// request, and one `onResponse` hook ends it once the response is written. As the HTTP semantic
// conventions have it: named `{method} {route}` (or `{method}` where no route matched), with
// `http.request.method`, `url.path` (without the query), `http.route`,
// `http.response.status_code`; a 5xx sets the status to ERROR with `error.type` and records the
// exception that caused it; a 4xx is the client's error, not the server's, and is not marked.
// `test/fastify-server-spans.test.ts` holds it to `@fastify/otel`'s spans for the same requests.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH
} from '@opentelemetry/semantic-conventions'
import type { FastifyInstance } from 'fastify'

export interface ServerSpanOptions {
  /** Requests left untraced, by URL (health probes, metric scrapes). */
  ignore?: (url: string) => boolean
}

const SCOPE = '@platform/telemetry/fastify'
const kSpan = Symbol('platform.telemetry.span')
const kError = Symbol('platform.telemetry.error')

interface TracedRequest {
  [kSpan]: Span | null
  [kError]: Error | null
}

/** Adds the server-span hooks to `app` (a root instance: its hooks reach every plugin). */
export function serverSpans(app: FastifyInstance, options: ServerSpanOptions = {}): void {
  const tracer = trace.getTracer(SCOPE) // the global provider's: the NodeSDK's
  const ignore = options.ignore
  app.decorateRequest(kSpan, null)
  app.decorateRequest(kError, null)

  app.addHook('onRequest', function startServerSpan(request, _reply, done) {
    const url = request.url
    if (ignore?.(url)) return done()
    const method = request.method
    const route = request.routeOptions.url
    const parent = propagation.extract(context.active(), request.headers)
    const span = tracer.startSpan(route ? `${method} ${route}` : method, { kind: SpanKind.SERVER }, parent)
    span.setAttribute(ATTR_HTTP_REQUEST_METHOD, method)
    const query = url.indexOf('?')
    span.setAttribute(ATTR_URL_PATH, query === -1 ? url : url.slice(0, query))
    if (route) span.setAttribute(ATTR_HTTP_ROUTE, route)
    ;(request as unknown as TracedRequest)[kSpan] = span
    context.with(trace.setSpan(parent, span), done)
  })

  app.addHook('onError', function recordServerError(request, _reply, error, done) {
    const traced = request as unknown as TracedRequest
    if (traced[kSpan]) traced[kError] = error
    done()
  })

  app.addHook('onResponse', function endServerSpan(request, reply, done) {
    const traced = request as unknown as TracedRequest
    const span = traced[kSpan]
    if (span) {
      traced[kSpan] = null
      const status = reply.statusCode
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
      if (status >= 500) {
        const error = traced[kError]
        span.setAttribute(ATTR_ERROR_TYPE, error?.name ?? String(status))
        if (error) span.recordException(error)
        span.setStatus(
          error ? { code: SpanStatusCode.ERROR, message: error.message } : { code: SpanStatusCode.ERROR }
        )
      }
      span.end()
    }
    done()
  })
}

/**
 * Traces every Fastify instance created in this process from now on (Fastify announces each on
 * the `fastify.initialization` diagnostics channel); returns what stops it for instances created
 * later.
 */
export function traceFastifyServers(options: ServerSpanOptions = {}): () => void {
  const onInitialization = (message: unknown) =>
    serverSpans((message as { fastify: FastifyInstance }).fastify, options)
  subscribe('fastify.initialization', onInitialization)
  return () => unsubscribe('fastify.initialization', onInitialization)
}
