import { randomUUID } from 'node:crypto'
import { context, propagation } from '@opentelemetry/api'
import { Compile } from 'typebox/compile'
import { EnvelopeSchema, Events, type Envelope, type EventData, type EventType } from '@platform/contracts'
import type { OutgoingMessage } from './bus.ts'

/** An event that can never be handled as it is (not JSON, not CloudEvents, data off contract). */
export class SchemaViolation extends Error {
  override name = 'SchemaViolation'
}

const envelopeCheck = Compile(EnvelopeSchema)
const dataChecks = new Map(Object.entries(Events).map(([type, e]) => [type, Compile(e.schema)]))

export function topicOf(type: EventType): string {
  return Events[type].topic
}

export interface CreateEnvelopeOptions {
  /** The producing service, CloudEvents `source`. */
  source: string
  /** The aggregate the event is about (CloudEvents `subject`); also the partition key. */
  subject: string
  id?: string
  time?: Date
}

/**
 * A CloudEvents envelope for `type`, checked against its contract, with the active trace context
 * in `traceparent`/`tracestate` — ready for `enqueue()` or a bus.
 */
export function createEnvelope<T extends EventType>(
  type: T,
  data: EventData<T>,
  options: CreateEnvelopeOptions
): { envelope: Envelope<EventData<T>>; message: OutgoingMessage } {
  if (!dataChecks.get(type)!.Check(data)) {
    throw new SchemaViolation(`${type} data does not match its contract: ${firstError(type, data)}`)
  }
  const headers: Record<string, string> = {}
  propagation.inject(context.active(), headers)
  const envelope: Envelope<EventData<T>> = {
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    type,
    source: options.source,
    time: (options.time ?? new Date()).toISOString(),
    subject: options.subject,
    datacontenttype: 'application/json',
    ...(headers.traceparent ? { traceparent: headers.traceparent } : {}),
    ...(headers.tracestate ? { tracestate: headers.tracestate } : {}),
    data
  }
  const message = {
    topic: topicOf(type),
    key: options.subject,
    value: JSON.stringify(envelope),
    headers: { 'content-type': 'application/cloudevents+json', 'ce-type': type, ...headers }
  }
  return { envelope, message }
}

/** Parses and checks a message value; throws {@link SchemaViolation} when it can't be an event. */
export function decodeEnvelope(value: Buffer | string | null): Envelope {
  if (value === null) throw new SchemaViolation('empty message')
  let parsed: unknown
  try {
    parsed = JSON.parse(value.toString())
  } catch {
    throw new SchemaViolation('message is not JSON')
  }
  if (!envelopeCheck.Check(parsed)) throw new SchemaViolation('message is not a CloudEvents 1.0 envelope')
  const envelope = parsed as Envelope
  const check = dataChecks.get(envelope.type)
  if (check && !check.Check(envelope.data)) {
    throw new SchemaViolation(
      `${envelope.type} data does not match its contract: ${firstError(envelope.type as EventType, envelope.data)}`
    )
  }
  return envelope
}

function firstError(type: string, data: unknown): string {
  const [error] = dataChecks.get(type)!.Errors(data)
  return error ? `${error.instancePath || '/'} ${error.message}` : 'invalid'
}
