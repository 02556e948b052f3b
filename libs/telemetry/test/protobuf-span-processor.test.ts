import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer } from '@opentelemetry/api'
import { TraceState } from '@opentelemetry/core'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOnSampler,
  SamplingDecision,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
  type SpanProcessor
} from '@opentelemetry/sdk-trace'
import { ProtobufSpanProcessor, type ProtobufSpanProcessorOptions } from '../src/protobuf-span-processor.ts'
import { decodeSpans, decodeTraceRequest } from './otlp-decode.ts'

interface Received {
  headers: IncomingHttpHeaders
  body: Buffer
}

/** A local OTLP/HTTP receiver; `hold` keeps answers back until released, `status` sets the answer. */
async function receiver(t: TestContext) {
  const received: Received[] = []
  const held: Array<() => void> = []
  const state = { hold: false, status: 200 }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) })
      const answer = (r: ServerResponse) =>
        r.writeHead(state.status, { 'content-type': 'application/x-protobuf' }).end()
      if (state.hold) held.push(() => answer(res))
      else answer(res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    held.forEach((release) => release())
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`
  return { url, received, state, release: () => held.splice(0).forEach((release) => release()) }
}

/** Spans go to the processor under test and, as objects, to `ended` — the expected content. */
function tracing(processor: SpanProcessor, sampler: Sampler = new AlwaysOnSampler()) {
  const ended: ReadableSpan[] = []
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'test', 'service.version': '1.0.0' }),
    sampler,
    spanProcessors: [
      processor,
      {
        onStart: () => {},
        onEnd: (span) => void ended.push(span),
        forceFlush: async () => {},
        shutdown: async () => {}
      }
    ]
  })
  return { provider, ended, tracer: provider.getTracer('test-scope', '2.0.0') }
}

function processor(url: string, options: Partial<ProtobufSpanProcessorOptions> = {}) {
  return new ProtobufSpanProcessor({ url, scheduledDelayMillis: 60_000, ...options })
}

async function until<T>(what: string, probe: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

function endSpans(tracer: Tracer, count: number, prefix = 'span'): void {
  for (let i = 0; i < count; i++) tracer.startSpan(`${prefix}-${i}`).end()
}

test('the request is byte for byte what the SDK’s protobuf serializer writes, whatever the spans hold', async (t) => {
  const otlp = await receiver(t)
  const { provider, ended, tracer } = tracing(processor(otlp.url, { maxExportBatchSize: 1000 }))
  const other = provider.getTracer('other-scope')
  const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('vendor=opaque,other=1')
  })
  const server = tracer.startSpan(
    'GET /products/:id',
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'url.path': '/products/é€😀', // two-, three- and four-byte UTF-8
        'http.response.status_code': 200,
        negative: -42,
        large: 2 ** 40 + 7,
        ratio: 0.125,
        flag: true,
        off: false,
        names: ['a', 'ß'],
        numbers: [1, -2, 3.5],
        long: 'x'.repeat(300) // a two-byte length
      },
      links: [
        {
          context: { traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceFlags: 0 },
          attributes: { why: 'batch' }
        }
      ]
    },
    remoteParent
  )
  server.addEvent('cache miss', { key: 'product:1' })
  server.addEvent('plain')
  const child = other.startSpan('SELECT', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, server))
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' })
  child.end()
  tracer.startSpan('huge', { attributes: { blob: 'y'.repeat(20_000) } }).end() // three-byte lengths
  server.end()
  endSpans(tracer, 5)

  await provider.forceFlush()

  assert.equal(otlp.received.length, 1)
  const [request] = otlp.received
  assert.equal(request!.headers['content-type'], 'application/x-protobuf')
  assert.deepEqual(request!.body, Buffer.from(ProtobufTraceSerializer.serializeRequest(ended)!))
  // And read back: two scopes under one resource, in the order their first span ended.
  const [resourceSpans] = decodeTraceRequest(request!.body)
  assert.equal(resourceSpans!.resource['service.name'], 'test')
  assert.deepEqual(
    resourceSpans!.scopes.map((s) => [s.name, s.spans.length]),
    [
      ['other-scope', 1],
      ['test-scope', 7]
    ]
  )
  const decoded = resourceSpans!.scopes[1]!.spans.find((s) => s.name === 'GET /products/:id')!
  assert.equal(decoded.parentSpanId, 'b7ad6b7169203331')
  assert.equal(decoded.kind, 2) // SERVER in the proto's numbering
  assert.equal(decoded.attributes['url.path'], '/products/é€😀')
})

test('an export starts as soon as maxExportBatchSize spans wait; the rest wait for the delay', async (t) => {
  const otlp = await receiver(t)
  const { tracer, ended } = tracing(
    processor(otlp.url, { maxExportBatchSize: 10, scheduledDelayMillis: 300 })
  )

  endSpans(tracer, 10, 'batch')
  await until('the full batch', () => otlp.received[0])
  endSpans(tracer, 3, 'late')
  await sleep(100)
  assert.equal(otlp.received.length, 1, 'three spans wait for the delay')
  await until('the delayed batch', () => otlp.received[1])

  assert.deepEqual(
    decodeSpans(otlp.received[0]!.body).map((s) => s.name),
    ended.slice(0, 10).map((s) => s.name)
  )
  assert.deepEqual(
    decodeSpans(otlp.received[1]!.body).map((s) => s.name),
    ['late-0', 'late-1', 'late-2']
  )
})

test('spans not sampled are not exported', async (t) => {
  const otlp = await receiver(t)
  // RECORD: the span records (processors see it end) but is not sampled, so it must not leave.
  const sampler: Sampler = {
    shouldSample: (_ctx, _traceId, name) => ({
      decision: name.startsWith('kept') ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.RECORD
    }),
    toString: () => 'test'
  }
  const { provider, tracer } = tracing(processor(otlp.url), sampler)

  endSpans(tracer, 2, 'kept')
  endSpans(tracer, 2, 'recorded-only')
  await provider.forceFlush()

  assert.deepEqual(
    otlp.received.flatMap((r) => decodeSpans(r.body).map((s) => s.name)),
    ['kept-0', 'kept-1']
  )
})

test('while an export is in flight at most maxQueueSize spans wait; later ones are dropped', async (t) => {
  const otlp = await receiver(t)
  const { provider, tracer } = tracing(processor(otlp.url, { maxExportBatchSize: 5, maxQueueSize: 8 }))
  otlp.state.hold = true

  endSpans(tracer, 5, 'first') // exported at once; the answer is held
  await until('the first export', () => otlp.received[0])
  endSpans(tracer, 20, 'waiting') // 8 wait, 12 are dropped
  otlp.state.hold = false
  otlp.release()
  await provider.forceFlush()

  assert.equal(otlp.received.length, 2, 'one more export carries everything that waited')
  assert.deepEqual(
    decodeSpans(otlp.received[1]!.body).map((s) => s.name),
    Array.from({ length: 8 }, (_, i) => `waiting-${i}`)
  )
})

test('forceFlush waits for the export in flight and sends what waited behind it', async (t) => {
  const otlp = await receiver(t)
  const { provider, tracer } = tracing(processor(otlp.url, { maxExportBatchSize: 5 }))
  otlp.state.hold = true

  endSpans(tracer, 5, 'first')
  await until('the first export', () => otlp.received[0])
  endSpans(tracer, 2, 'behind') // fewer than a batch: they would wait for the delay (60 s)
  const flushed = provider.forceFlush()
  await sleep(50)
  assert.equal(otlp.received.length, 1, 'nothing more is sent while the first export is in flight')
  otlp.state.hold = false
  otlp.release()
  await flushed

  assert.deepEqual(
    decodeSpans(otlp.received[1]!.body).map((s) => s.name),
    ['behind-0', 'behind-1']
  )
})

test('a failed export is not retried forever and does not stop later exports', async (t) => {
  const otlp = await receiver(t)
  const { provider, tracer } = tracing(processor(otlp.url, { maxExportBatchSize: 2 }))
  otlp.state.status = 400 // not retryable

  endSpans(tracer, 2, 'refused')
  await until('the refused export', () => otlp.received[0])
  await sleep(50)
  otlp.state.status = 200
  endSpans(tracer, 2, 'accepted')
  await provider.forceFlush()

  assert.deepEqual(
    otlp.received.map((r) => decodeSpans(r.body).map((s) => s.name)),
    [
      ['refused-0', 'refused-1'],
      ['accepted-0', 'accepted-1']
    ]
  )
})

test('shutdown exports what waits, then takes no more spans', async (t) => {
  const otlp = await receiver(t)
  const spans = processor(otlp.url)
  const { provider, tracer } = tracing(spans)

  endSpans(tracer, 3, 'before')
  await provider.shutdown()
  tracer.startSpan('after').end()
  await spans.forceFlush()

  assert.deepEqual(
    otlp.received.map((r) => decodeSpans(r.body).map((s) => s.name)),
    [['before-0', 'before-1', 'before-2']]
  )
})

test('the standard exporter variables apply: OTEL_EXPORTER_OTLP_HEADERS reaches the collector', async (t) => {
  const otlp = await receiver(t)
  process.env.OTEL_EXPORTER_OTLP_HEADERS = 'authorization=Bearer%20collector-token'
  t.after(() => delete process.env.OTEL_EXPORTER_OTLP_HEADERS)
  const { provider, tracer } = tracing(processor(otlp.url))

  endSpans(tracer, 1)
  await provider.forceFlush()

  assert.equal(otlp.received[0]?.headers.authorization, 'Bearer collector-token')
})
