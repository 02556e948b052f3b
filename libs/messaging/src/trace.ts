import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type SpanOptions
} from '@opentelemetry/api'

const tracer = trace.getTracer('@platform/messaging')

/** The trace context a message carries in its headers (W3C traceparent/tracestate). */
export function extractContext(headers: Record<string, string>): Context {
  return propagation.extract(context.active(), headers)
}

/** Runs `fn` in a new active consumer span, marked as an error if `fn` throws. */
function inSpan<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.CONSUMER, ...options }, async (span) => {
    try {
      return await fn()
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message })
      throw err
    } finally {
      span.end()
    }
  })
}

/** Runs `fn` in a consumer span that continues the producer's trace. */
export async function inConsumerSpan<T>(
  topic: string,
  headers: Record<string, string>,
  fn: () => Promise<T>
): Promise<T> {
  return context.with(extractContext(headers), () =>
    inSpan(
      `process ${topic}`,
      { attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic } },
      fn
    )
  )
}

/**
 * Runs `fn` in one consumer span for several messages of a topic, linked to each message's
 * producer span (a batch has no single parent).
 */
export async function inBatchSpan<T>(
  topic: string,
  events: Array<{ headers: Record<string, string> }>,
  fn: () => Promise<T>
): Promise<T> {
  const links = events.flatMap(({ headers }) => {
    const span = trace.getSpanContext(extractContext(headers))
    return span ? [{ context: span }] : []
  })
  return inSpan(
    `process ${topic}`,
    {
      links,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': events.length
      }
    },
    fn
  )
}
