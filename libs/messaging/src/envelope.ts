import { randomUUID } from 'node:crypto'
import { context, propagation } from '@opentelemetry/api'
import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { EnvelopeSchema, type Envelope } from '@platform/contracts'
import type { OutgoingMessage } from './bus.ts'

/** An event that can never be handled as it is (not JSON, not CloudEvents, data off contract). */
export class SchemaViolation extends Error {
  override name = 'SchemaViolation'
}

const envelopeCheck = Compile(EnvelopeSchema)

/** The event types a service sends and receives: each one's data schema and its topic. */
export type EventRegistry = Record<string, { topic: string; schema: TSchema }>

export interface CreateEnvelopeOptions {
  /** The producing service, CloudEvents `source`. */
  source: string
  /** The aggregate the event is about (CloudEvents `subject`); also the partition key. */
  subject: string
  id?: string
  time?: Date
}

/** Events of one registry: made and read against their contracts, sent on their topics. */
export interface EventCodec<R extends EventRegistry> {
  /**
   * A CloudEvents envelope for `type`, checked against its contract, with the active trace context
   * in `traceparent`/`tracestate`, and the message for its topic — ready for the outbox or a bus.
   */
  create<T extends keyof R & string>(
    type: T,
    data: Static<R[T]['schema']>,
    options: CreateEnvelopeOptions
  ): { envelope: Envelope<Static<R[T]['schema']>>; message: OutgoingMessage }
  /**
   * Parses and checks a message value; throws {@link SchemaViolation} when it can't be an event.
   * A type the registry doesn't know passes unchecked (a newer producer's): the handler decides.
   */
  decode(value: Buffer | string | null): Envelope
  topicOf(type: keyof R & string): string
}

/** The codec of `events` (for the platform: `Events` of @platform/contracts). */
export function createEventCodec<R extends EventRegistry>(events: R): EventCodec<R> {
  const dataChecks = new Map(Object.entries(events).map(([type, e]) => [type, Compile(e.schema)]))
  const firstError = (type: string, data: unknown): string => {
    const [error] = dataChecks.get(type)!.Errors(data)
    return error ? `${error.instancePath || '/'} ${error.message}` : 'invalid'
  }
  return {
    topicOf: (type) => events[type]!.topic,
    create(type, data, options) {
      const check = dataChecks.get(type)
      if (!check) throw new SchemaViolation(`${type} is not an event type of this registry`)
      if (!check.Check(data))
        throw new SchemaViolation(`${type} data does not match its contract: ${firstError(type, data)}`)
      const headers: Record<string, string> = {}
      propagation.inject(context.active(), headers)
      const envelope: Envelope<Static<R[typeof type]['schema']>> = {
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
        topic: events[type]!.topic,
        key: options.subject,
        value: JSON.stringify(envelope),
        headers: { 'content-type': 'application/cloudevents+json', 'ce-type': type, ...headers }
      }
      return { envelope, message }
    },
    decode(value) {
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
      if (check && !check.Check(envelope.data))
        throw new SchemaViolation(
          `${envelope.type} data does not match its contract: ${firstError(envelope.type, envelope.data)}`
        )
      return envelope
    }
  }
}
