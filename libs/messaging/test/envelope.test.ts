import assert from 'node:assert/strict'
import { test } from 'node:test'
import Type from 'typebox'
import { dataSchemaOf } from '@platform/contracts'
import { createEventCodec, SchemaViolation } from '../src/index.ts'

// A release after an incompatible change: `amount` (a string of cents, v1) became `amountMinor`.
const V1 = Type.Object(
  { id: Type.String(), amount: Type.String({ pattern: '^[0-9]+$' }) },
  { additionalProperties: false }
)
const V2 = Type.Object({ id: Type.String(), amountMinor: Type.Integer() }, { additionalProperties: false })
const registry = {
  'payment.taken': {
    topic: 'payment.events',
    version: 2,
    schema: V2,
    previous: {
      version: 1,
      schema: V1,
      upgrade: (d: { id: string; amount: string }) => ({ id: d.id, amountMinor: Number(d.amount) })
    }
  }
}
const codec = createEventCodec(registry)

const envelope = (data: unknown, dataschema?: string) =>
  JSON.stringify({
    specversion: '1.0',
    id: '0a4f0a3e-8d7b-4d0e-9c1b-3b7f5e2a1c90',
    type: 'payment.taken',
    source: 'payments',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    ...(dataschema ? { dataschema } : {}),
    data
  })

test('an event is made with the dataschema of its current version', () => {
  const { envelope: made, message } = codec.create(
    'payment.taken',
    { id: 'p1', amountMinor: 250 },
    {
      source: 'payments',
      subject: 'p1'
    }
  )
  assert.equal(made.dataschema, 'urn:platform:events:payment.taken:v2')
  assert.deepEqual(codec.decode(message.value).data, { id: 'p1', amountMinor: 250 })
})

test('the previous version is read for one release, upgraded to the current shape', () => {
  const read = codec.decode(envelope({ id: 'p1', amount: '250' }, dataSchemaOf('payment.taken', 1)))
  assert.deepEqual(read.data, { id: 'p1', amountMinor: 250 })
  assert.equal(read.dataschema, dataSchemaOf('payment.taken', 2))
  // Without a dataschema an event is the first version.
  assert.deepEqual(codec.decode(envelope({ id: 'p2', amount: '7' })).data, { id: 'p2', amountMinor: 7 })
  // Previous-version data is still checked against the previous schema.
  assert.throws(
    () => codec.decode(envelope({ id: 'p1', amount: 'lots' }, dataSchemaOf('payment.taken', 1))),
    (e: Error) => e instanceof SchemaViolation && /v1 data does not match.*amount/.test(e.message)
  )
})

test('a version the consumer does not read is a schema violation (dead-lettered, replayable later)', () => {
  for (const version of [3, 0])
    assert.throws(
      () => codec.decode(envelope({ id: 'p1', amountMinor: 1 }, dataSchemaOf('payment.taken', version))),
      (e: Error) => e instanceof SchemaViolation && /is not a version read here \(v2, v1\)/.test(e.message)
    )
  assert.throws(
    () => codec.decode(envelope({ id: 'p1', amountMinor: 1 }, 'https://elsewhere/schema')),
    SchemaViolation
  )
})

test('a reader is tolerant: a field a newer producer added is kept, not refused', () => {
  const read = codec.decode(
    envelope({ id: 'p1', amountMinor: 1, note: 'new' }, dataSchemaOf('payment.taken', 2))
  )
  assert.deepEqual(read.data, { id: 'p1', amountMinor: 1, note: 'new' })
  // …while a producer can't make data off its contract.
  assert.throws(
    () =>
      codec.create('payment.taken', { id: 'p1', amountMinor: 1, note: 'x' } as never, {
        source: 's',
        subject: 'p1'
      }),
    SchemaViolation
  )
})
