import type { SpanExporter } from '@opentelemetry/sdk-trace'

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
 * Starts tracing for a service: the OpenTelemetry `NodeSDK` (`@opentelemetry/sdk-node`) with the
 * platform's resource, sampler, propagator, instrumentations and span processor. Call it from the
 * service's instrumentation file, loaded with `node --import` before the app so the module hooks
 * see pg, ioredis and kafkajs load: `export const telemetry = await startTelemetry({...})`.
 *
 * One server span per request comes from `fastify-server-spans.ts` (named `{method} {route}`;
 * lifecycle hooks and handlers get no spans of their own: they cost more than they tell). Client
 * spans and W3C `traceparent` propagation come from undici (service-to-service calls), pg, ioredis
 * and kafkajs. Metrics stay with Prometheus (prom-client) and logs with pino on stdout: the SDK
 * starts no meter or logger exporters of its own.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  if (started) throw new Error('telemetry is already started in this process')
  started = await start(options)
  return started
}

let started: Telemetry | undefined

/** Shuts down what {@link startTelemetry} started in this process, if anything. */
export async function shutdownTelemetry(): Promise<void> {
  const telemetry = started
  started = undefined
  await telemetry?.shutdown()
}

async function start(options: TelemetryOptions): Promise<Telemetry> {
  if (!options.endpoint && !options.exporter) return { enabled: false, shutdown: async () => {} }

  // Loaded only when tracing is on: a service without an endpoint never loads the SDK.
  const { register } = await import('node:module')
  // ESM imports of CommonJS packages (pg, ioredis, kafkajs) are patched through this loader hook.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
  const [
    { context, propagation, trace },
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    { NodeSDK },
    { resourceFromAttributes },
    { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler },
    { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION },
    { traceFastifyServers },
    { UndiciInstrumentation },
    { PgInstrumentation },
    { IORedisInstrumentation },
    { KafkaJsInstrumentation },
    { ProtobufSpanProcessor }
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/semantic-conventions'),
    import('./fastify-server-spans.ts'),
    import('@opentelemetry/instrumentation-undici'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
    import('@opentelemetry/instrumentation-kafkajs'),
    import('./protobuf-span-processor.ts')
  ])

  const ratio = options.sampleRatio ?? 1
  const instrumentations = [
    new UndiciInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
    new KafkaJsInstrumentation()
  ]
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion
    }),
    // The resource is the service's name and version; host and process detectors add nothing a
    // trace backend needs here and cost start-up time.
    autoDetectResources: false,
    // At 100 % the ratio sampler would only add per-span arithmetic: always on.
    sampler: new ParentBasedSampler({
      root: ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio)
    }),
    spanProcessors: [
      options.exporter
        ? new BatchSpanProcessor({ exporter: options.exporter, scheduledDelayMillis: 1000 })
        : new ProtobufSpanProcessor({
            url: `${options.endpoint!.replace(/\/$/, '')}/v1/traces`,
            maxExportBatchSize: 2048,
            maxQueueSize: 8192,
            scheduledDelayMillis: 1000
          })
    ],
    contextManager: new AsyncLocalStorageContextManager(),
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations,
    metricReaders: [],
    logRecordProcessors: []
  })
  sdk.start()
  const stopTracingFastify = traceFastifyServers({
    ignore: (url) => url.startsWith('/health/') || url === '/metrics'
  })

  return {
    enabled: true,
    async shutdown() {
      stopTracingFastify()
      for (const instrumentation of instrumentations) instrumentation.disable()
      await sdk.shutdown()
      trace.disable()
      propagation.disable()
      context.disable()
    }
  }
}
