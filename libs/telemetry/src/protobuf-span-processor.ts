import { context, diag, TraceFlags } from '@opentelemetry/api'
import {
  ExportResultCode,
  globalErrorHandler,
  suppressTracing,
  type InstrumentationScope
} from '@opentelemetry/core'
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate
} from '@opentelemetry/otlp-exporter-base/node-http'
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer'
import type { Resource } from '@opentelemetry/resources'
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace'
import { ProtoWriter, writeResource, writeScope, writeSpan } from './otlp-protobuf.ts'

export interface ProtobufSpanProcessorOptions {
  /** OTLP/HTTP traces URL (`http://collector:4318/v1/traces`). */
  url: string
  /** Spans that start an export as soon as they are waiting. Default 512. */
  maxExportBatchSize?: number
  /** Spans held while an export is in flight; spans beyond are dropped (and logged). Default 2048. */
  maxQueueSize?: number
  /** The longest a span waits for its export. Default 1000 ms. */
  scheduledDelayMillis?: number
  /** One export's timeout, retries included. Default `OTEL_EXPORTER_OTLP_TIMEOUT`, else 10 000 ms. */
  exportTimeoutMillis?: number
}

interface EncodedBatch {
  body: Uint8Array
  spans: number
}

/**
 * A batch span processor that exports OTLP/HTTP protobuf, encoding each span when it ends (see
 * otlp-protobuf.ts for why) — the SDK's `BatchSpanProcessor` with the OTLP exporter, minus holding
 * span objects. Same contract: sampled spans only; an export starts when `maxExportBatchSize` spans
 * wait or `scheduledDelayMillis` after the first; one export in flight; at most `maxQueueSize`
 * spans wait, later ones are dropped; `forceFlush` and `shutdown` export everything waiting.
 * The HTTP transport — retries with backoff, timeouts, partial-success responses, and the standard
 * `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`/`COMPRESSION`/`TIMEOUT`/TLS variables — is the OTLP
 * exporters' own (`@opentelemetry/otlp-exporter-base`), given the encoded request.
 */
export class ProtobufSpanProcessor implements SpanProcessor {
  private readonly maxExportBatchSize: number
  private readonly maxQueueSize: number
  private readonly scheduledDelayMillis: number
  private readonly delegate
  /** Encoded spans waiting, per resource and instrumentation scope (ScopeSpans.spans). */
  private readonly waiting = new Map<Resource, Map<InstrumentationScope, ProtoWriter>>()
  private readonly request = new ProtoWriter()
  private queued = 0
  private dropped = 0
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<void> | undefined
  private isShutdown = false

  constructor(options: ProtobufSpanProcessorOptions) {
    this.maxExportBatchSize = options.maxExportBatchSize ?? 512
    this.maxQueueSize = Math.max(options.maxQueueSize ?? 2048, this.maxExportBatchSize)
    this.scheduledDelayMillis = options.scheduledDelayMillis ?? 1000
    this.delegate = createOtlpHttpExportDelegate<EncodedBatch, unknown>(
      convertLegacyHttpOptions(
        {
          url: options.url,
          ...(options.exportTimeoutMillis ? { timeoutMillis: options.exportTimeoutMillis } : {})
        },
        'TRACES',
        'v1/traces',
        { 'Content-Type': 'application/x-protobuf' }
      ),
      {
        serializeRequest: (batch) => batch.body,
        deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data)
      },
      'otlp_http_span_exporter',
      { name: 'span', countItems: (batch) => batch.spans },
      undefined // no self-metrics
    )
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.isShutdown || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
    if (this.queued >= this.maxQueueSize) {
      if (this.dropped++ === 0) diag.debug('ProtobufSpanProcessor: queue full, dropping spans')
      return
    }
    if (this.dropped > 0) {
      diag.warn(`ProtobufSpanProcessor: dropped ${this.dropped} spans because the queue was full`)
      this.dropped = 0
    }
    writeSpan(this.writerFor(span), 2, span)
    this.queued++
    if (this.inFlight) return
    if (this.queued >= this.maxExportBatchSize) void this.exportWaiting()
    else this.scheduleExport()
  }

  /** Exports every span waiting now: after the export in flight, at most one more carries them. */
  async forceFlush(): Promise<void> {
    if (this.inFlight) await this.inFlight
    await this.exportWaiting()
  }

  async shutdown(): Promise<void> {
    if (this.isShutdown) return
    this.isShutdown = true
    await this.forceFlush()
    await this.delegate.shutdown()
  }

  private writerFor(span: ReadableSpan): ProtoWriter {
    let scopes = this.waiting.get(span.resource)
    if (!scopes) this.waiting.set(span.resource, (scopes = new Map()))
    let writer = scopes.get(span.instrumentationScope)
    if (!writer) scopes.set(span.instrumentationScope, (writer = new ProtoWriter(16 * 1024)))
    return writer
  }

  /** The waiting spans leave `scheduledDelayMillis` after the first of them, at the latest. */
  private scheduleExport(): void {
    this.timer ??= setTimeout(() => void this.exportWaiting(), this.scheduledDelayMillis).unref()
  }

  /** Exports every waiting span as one ExportTraceServiceRequest; resolves when the export ends. */
  private exportWaiting(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.inFlight || this.queued === 0) return this.inFlight ?? Promise.resolve()
    const batch = { body: this.encodeRequest(), spans: this.queued }
    this.queued = 0
    const done = new Promise<void>((resolve) => {
      context.with(suppressTracing(context.active()), () => {
        this.delegate.export(batch, (result) => {
          if (result.code !== ExportResultCode.SUCCESS) {
            globalErrorHandler(result.error ?? new Error('ProtobufSpanProcessor: span export failed'))
          }
          resolve()
        })
      })
    }).finally(() => {
      this.inFlight = undefined
      if (this.queued >= this.maxExportBatchSize) void this.exportWaiting()
      else if (this.queued > 0 && !this.isShutdown) this.scheduleExport()
    })
    this.inFlight = done
    return done
  }

  /** ExportTraceServiceRequest { ResourceSpans { Resource, ScopeSpans { scope, spans… } … } … } */
  private encodeRequest(): Uint8Array {
    const w = this.request
    w.reset()
    for (const [resource, scopes] of this.waiting) {
      if (![...scopes.values()].some((spans) => spans.pos > 0)) continue
      const resourceSpans = w.begin(1)
      writeResource(w, 1, resource)
      for (const [scope, spans] of scopes) {
        if (spans.pos === 0) continue
        const scopeSpans = w.begin(2)
        writeScope(w, 1, scope)
        w.append(spans)
        if (scope.schemaUrl) w.string(3, scope.schemaUrl)
        w.end(scopeSpans)
        spans.reset()
      }
      if (resource.schemaUrl) w.string(3, resource.schemaUrl)
      w.end(resourceSpans)
    }
    return w.copy()
  }
}
