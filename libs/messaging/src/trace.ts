import { context, propagation, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api'

const tracer = trace.getTracer('@platform/messaging')

/** The trace context a message carries in its headers (W3C traceparent/tracestate). */
export function extractContext(headers: Record<string, string>): Context {
  return propagation.extract(context.active(), headers)
}

/** Runs `fn` in a consumer span that continues the producer's trace. */
export async function inConsumerSpan<T>(
  topic: string,
  headers: Record<string, string>,
  fn: () => Promise<T>
): Promise<T> {
  return context.with(extractContext(headers), () =>
    tracer.startActiveSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic }
      },
      async (span) => {
        try {
          return await fn()
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message })
          throw err
        } finally {
          span.end()
        }
      }
    )
  )
}
