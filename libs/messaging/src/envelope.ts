import { randomUUID } from 'node:crypto'
import { context, propagation } from '@opentelemetry/api'
import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { dataSchemaOf, EnvelopeSchema, versionOf, type Envelope } from '@platform/contracts'
import type { OutgoingMessage } from './bus.ts'

/** An event that can never be handled as it is (not JSON, not CloudEvents, data off contract). */
export class SchemaViolation extends Error {
  override name = 'SchemaViolation'
}

const envelopeCheck = Compile(EnvelopeSchema)

/**
 * The event types a service sends and receives: each one's data schema, its version (1 when left
 * out) and its topic, and the previous version still read for one release, with its upgrade.
 */
export type EventRegistry = Record<
  string,
  {
    topic: string
    schema: TSchema
    version?: number
    previous?: { version: number; schema: TSchema; upgrade: (data: never) => unknown }
  }
>

/**
 * A reader's copy of a schema: closed objects opened. Made data must match its contract exactly,
 * but a consumer reads what it knows and ignores fields a newer producer added.
 */
function tolerant(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object') return schema
  if (Array.isArray(schema)) return schema.map(tolerant)
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k, v]) => !(k === 'additionalProperties' && v === false))
      .map(([k, v]) => [k, tolerant(v)])
  )
}

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
   * Data of the previous version is upgraded to the current one; fields the reader doesn't know
   * are kept but not checked. A type the registry doesn't know passes unchecked (a newer
   * producer's): the handler decides.
   */
  decode(value: Buffer | string | null): Envelope
  topicOf(type: keyof R & string): string
}

/** The codec of `events` (for the platform: `Events` of @platform/contracts). */
export function createEventCodec<R extends EventRegistry>(events: R): EventCodec<R> {
  const made = new Map(Object.entries(events).map(([type, e]) => [type, Compile(e.schema)]))
  // What a consumer reads: per type, the current version and the previous one (upgraded).
  const read = new Map(
    Object.entries(events).map(([type, e]) => {
      const versions = new Map<
        number,
        { check: ReturnType<typeof Compile>; upgrade?: (d: never) => unknown }
      >([[e.version ?? 1, { check: Compile(tolerant(e.schema) as TSchema) }]])
      if (e.previous)
        versions.set(e.previous.version, {
          check: Compile(tolerant(e.previous.schema) as TSchema),
          upgrade: e.previous.upgrade
        })
      return [type, versions]
    })
  )
  const firstError = (check: ReturnType<typeof Compile>, data: unknown): string => {
    const [error] = check.Errors(data)
    return error ? `${error.instancePath || '/'} ${error.message}` : 'invalid'
  }
  return {
    topicOf: (type) => events[type]!.topic,
    create(type, data, options) {
      const check = made.get(type)
      if (!check) throw new SchemaViolation(`${type} is not an event type of this registry`)
      if (!check.Check(data))
        throw new SchemaViolation(`${type} data does not match its contract: ${firstError(check, data)}`)
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
        dataschema: dataSchemaOf(type, events[type]!.version ?? 1),
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
      const versions = read.get(envelope.type)
      if (!versions) return envelope
      const version = versionOf(envelope.dataschema)
      const reader = version === undefined ? undefined : versions.get(version)
      if (!reader)
        throw new SchemaViolation(
          `${envelope.type} ${envelope.dataschema ?? ''} is not a version read here (${[...versions.keys()].map((v) => `v${v}`).join(', ')})`
        )
      if (!reader.check.Check(envelope.data))
        throw new SchemaViolation(
          `${envelope.type} v${version} data does not match its contract: ${firstError(reader.check, envelope.data)}`
        )
      if (reader.upgrade) {
        envelope.data = reader.upgrade(envelope.data as never)
        envelope.dataschema = dataSchemaOf(envelope.type, events[envelope.type]!.version ?? 1)
      }
      return envelope
    }
  }
}
