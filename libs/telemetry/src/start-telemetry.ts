import { register } from 'node:module'
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis'
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type SpanExporter
} from '@opentelemetry/sdk-trace'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { ProtobufSpanProcessor } from './protobuf-span-processor.ts'

export interface TelemetryOptions {
  serviceName: string
  serviceVersion: string
  /**
   * OTLP/HTTP base URL (`http://collector:4318`); spans go to `<endpoint>/v1/traces` as protobuf.
   * Without one, telemetry is off: nothing is loaded.
   */
  endpoint?: string
  /** Share of new traces recorded (a caller's sampling decision is kept). Default 1. */
  sampleRatio?: number
  /** Where spans go instead of OTLP (tests), through the SDK's BatchSpanProcessor. */
  exporter?: SpanExporter
}

export interface Telemetry {
  enabled: boolean
  /** Flushes pending spans and stops exporting; the last step of a service's shutdown. */
  shutdown(): Promise<void>
}

/**
 * Starts tracing for a service. Call it from the service's instrumentation file, loaded with
 * `node --import` before the app so the module hooks see pg, ioredis and kafkajs load.
 *
 * One server span per request comes from `@fastify/otel` (named by route template; lifecycle hooks
 * and handlers get no spans of their own: they cost more than they tell). Client spans and W3C
 * `traceparent` propagation come from undici (service-to-service calls), pg, ioredis and kafkajs.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (!options.endpoint && !options.exporter) return { enabled: false, shutdown: async () => {} }

  // ESM imports of CommonJS packages (pg, ioredis, kafkajs) are patched through this loader hook.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)

  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion
    }),
    // At 100 % the ratio sampler's per-span arithmetic buys nothing (0.25 µs per span measured).
    sampler: new ParentBasedSampler({
      root:
        (options.sampleRatio ?? 1) >= 1
          ? new AlwaysOnSampler()
          : new TraceIdRatioBasedSampler(options.sampleRatio ?? 1)
    }),
    spanProcessors: [
      options.exporter
        ? new BatchSpanProcessor({ exporter: options.exporter, scheduledDelayMillis: 1000 })
        : new ProtobufSpanProcessor({
            url: `${options.endpoint!.replace(/\/$/, '')}/v1/traces`,
            // Measured (bench/http-kit.ts set-up, alternating runs): exports of 2048 spans cost
            // ~1 µs per span less than of 512, the SDK's default; 2048 spans are ~450 KB.
            maxExportBatchSize: 2048,
            maxQueueSize: 8192,
            scheduledDelayMillis: 1000
          })
    ]
  })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)

  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        instrumentHooks: false,
        instrumentHandler: false,
        ignorePaths: ({ url }: { url: string }) => url.startsWith('/health/') || url === '/metrics'
      }),
      new UndiciInstrumentation(),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new KafkaJsInstrumentation()
    ]
  })

  return {
    enabled: true,
    async shutdown() {
      unregister()
      await provider.shutdown()
      trace.disable()
      propagation.disable()
      context.disable()
    }
  }
}
