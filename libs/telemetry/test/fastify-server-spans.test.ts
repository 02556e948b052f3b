import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan
} from '@opentelemetry/sdk-trace'
import Fastify, { type FastifyInstance } from 'fastify'
import { serverSpans, traceFastifyServers } from '../src/fastify-server-spans.ts'

// The module replaces @fastify/otel (request spans only): the same requests go to one app traced by
// each, and their spans must agree except where the module follows the HTTP semantic conventions
// on purpose (each difference asserted below).
const exporter = new InMemorySpanExporter()
const processor = new SimpleSpanProcessor({ exporter })
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [processor] }))
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
propagation.setGlobalPropagator(new W3CTraceContextPropagator())

const ignore = (url: string) => url.startsWith('/health/') || url === '/metrics'
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

async function buildApp(
  instrument: (app: FastifyInstance) => Promise<void> | void
): Promise<FastifyInstance> {
  const app = Fastify()
  await instrument(app)
  const tracer = trace.getTracer('handler')
  app.get(
    '/items/:id',
    { schema: { params: { type: 'object', properties: { id: { type: 'integer' } } } } },
    async (request) => {
      tracer.startSpan('child').end() // parented by the active context: the request's span
      return { id: (request.params as { id: number }).id }
    }
  )
  app.get('/boom', async () => {
    throw new TypeError('kaboom')
  })
  app.get('/busy', async (_request, reply) => reply.code(503).send({ code: 'BUSY' }))
  app.get('/health/live', async () => ({ status: 'ok' }))
  await app.ready()
  return app
}

const library = () =>
  buildApp(async (app) => {
    const otel = new FastifyOtelInstrumentation({
      instrumentHooks: false,
      instrumentHandler: false,
      ignorePaths: ({ url }: { url: string }) => ignore(url)
    })
    await app.register(otel.plugin())
  })
const ours = () => buildApp((app) => serverSpans(app, { ignore }))

/** The spans one request produced: its server span (if any) and the others. */
async function spansOf(app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  exporter.reset()
  const res = await app.inject({ url, headers })
  await processor.forceFlush()
  const spans = exporter.getFinishedSpans()
  const server = spans.filter((s) => s.kind === SpanKind.SERVER)
  assert.ok(server.length <= 1, `at most one server span for ${url}`)
  return {
    status: res.statusCode,
    server: server[0],
    others: spans.filter((s) => s.kind !== SpanKind.SERVER)
  }
}

/** What both must agree on. */
function common(span: ReadableSpan) {
  return {
    kind: span.kind,
    method: span.attributes['http.request.method'],
    route: span.attributes['http.route'],
    statusCode: span.attributes['http.response.status_code'],
    parent: span.parentSpanContext && {
      traceId: span.parentSpanContext.traceId,
      spanId: span.parentSpanContext.spanId,
      isRemote: span.parentSpanContext.isRemote
    },
    traceId: span.parentSpanContext ? span.spanContext().traceId : 'new'
  }
}

test('a request span agrees with @fastify/otel: kind, method, route, status code, caller, children', async () => {
  const [theirs, mine] = await Promise.all([library(), ours()])
  const cases: Array<[string, Record<string, string>]> = [
    ['/items/7', {}],
    ['/items/7', { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` }],
    ['/items/not-a-number', {}],
    ['/boom', {}],
    ['/busy', {}],
    ['/missing', {}]
  ]
  for (const [url, headers] of cases) {
    const a = await spansOf(theirs, url, headers)
    const b = await spansOf(mine, url, headers)
    assert.equal(b.status, a.status, url)
    assert.ok(a.server && b.server, `both trace ${url}`)
    assert.deepEqual(common(b.server), common(a.server), url)
    // The handler's own span is the request span's child in both.
    assert.deepEqual(
      b.others.map((s) => s.parentSpanContext?.spanId === b.server!.spanContext().spanId),
      a.others.map((s) => s.parentSpanContext?.spanId === a.server!.spanContext().spanId),
      url
    )
  }
  const remote = await spansOf(mine, '/items/7', { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` })
  assert.equal(remote.server!.spanContext().traceId, CALLER_TRACE)
  assert.equal(remote.others.length, 1)
  await Promise.all([theirs.close(), mine.close()])
})

test('probes and scrapes are not traced, by either', async () => {
  const [theirs, mine] = await Promise.all([library(), ours()])
  assert.equal((await spansOf(theirs, '/health/live')).server, undefined)
  assert.equal((await spansOf(mine, '/health/live')).server, undefined)
  assert.equal((await spansOf(mine, '/health/live')).status, 200)
  await Promise.all([theirs.close(), mine.close()])
})

test('where it differs, it follows the HTTP semantic conventions', async () => {
  const [theirs, mine] = await Promise.all([library(), ours()])

  // Named by method and route (the library names every span "request"); path without the query.
  const a = (await spansOf(theirs, '/items/7?debug=1')).server!
  const b = (await spansOf(mine, '/items/7?debug=1')).server!
  assert.equal(a.name, 'request')
  assert.equal(b.name, 'GET /items/:id')
  assert.equal(a.attributes['url.path'], '/items/7?debug=1')
  assert.equal(b.attributes['url.path'], '/items/7')
  assert.equal((await spansOf(mine, '/missing')).server!.name, 'GET')

  // A 4xx is the caller's error: the library marks the span and records the validation error.
  const invalidTheirs = (await spansOf(theirs, '/items/x')).server!
  const invalidMine = (await spansOf(mine, '/items/x')).server!
  assert.equal(invalidTheirs.status.code, SpanStatusCode.ERROR)
  assert.equal(invalidMine.status.code, SpanStatusCode.UNSET)
  assert.equal(invalidMine.events.length, 0)

  // A 5xx is the server's: both mark it; the module adds error.type.
  for (const span of [(await spansOf(theirs, '/boom')).server!, (await spansOf(mine, '/boom')).server!]) {
    assert.equal(span.status.code, SpanStatusCode.ERROR)
    assert.equal(span.status.message, 'kaboom')
    assert.equal(span.events[0]?.name, 'exception')
    assert.equal(span.events[0]?.attributes?.['exception.type'], 'TypeError')
  }
  assert.equal((await spansOf(mine, '/boom')).server!.attributes['error.type'], 'TypeError')
  const busy = (await spansOf(mine, '/busy')).server!
  assert.equal(busy.status.code, SpanStatusCode.ERROR)
  assert.equal(busy.attributes['error.type'], '503')
  assert.equal(busy.events.length, 0)
  await Promise.all([theirs.close(), mine.close()])
})

test('traceFastifyServers traces every instance created after it, until stopped', async () => {
  const stop = traceFastifyServers({ ignore })
  const traced = await buildApp(() => {})
  stop()
  const untraced = await buildApp(() => {})
  assert.equal((await spansOf(traced, '/items/1')).server?.name, 'GET /items/:id')
  const res = await spansOf(untraced, '/items/1')
  assert.equal(res.status, 200)
  assert.equal(res.server, undefined)
  await Promise.all([traced.close(), untraced.close()])
})
