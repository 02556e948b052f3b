import assert from 'node:assert/strict'
import { test } from 'node:test'
import Value from 'typebox/value'
import { Events, EnvelopeSchema } from '../src/index.ts'

const orderId = '0b7b3f5e-1f7a-4c4e-9a51-2f6f1d1a9c11'
const productId = '7d2c6b8a-5a4e-4d1b-8f9e-3c2b1a0f9e8d'

test('order.placed accepts a valid basket and rejects negative prices, empty baskets and unknown fields', () => {
  const schema = Events['order.placed'].schema
  const valid = {
    orderId,
    customerId: 'u-1',
    lines: [{ productId, quantity: 2, unitPriceMinor: 1999 }],
    totalMinor: 3998,
    currency: 'EUR'
  }

  assert.equal(Value.Check(schema, valid), true)
  assert.equal(Value.Check(schema, { ...valid, lines: [] }), false)
  assert.equal(
    Value.Check(schema, { ...valid, lines: [{ productId, quantity: 1, unitPriceMinor: -1 }] }),
    false
  )
  assert.equal(Value.Check(schema, { ...valid, currency: 'euro' }), false)
  assert.equal(Value.Check(schema, { ...valid, extra: true }), false)
})

test('every event type travels on its topic; the envelope is CloudEvents 1.0', () => {
  assert.deepEqual(
    Object.entries(Events).map(([type, e]) => `${type}→${e.topic}`),
    [
      'order.placed→order.events',
      'order.confirmed→order.events',
      'order.rejected→order.events',
      'order.cancelled→order.events',
      'stock.reserved→catalog.events',
      'stock.rejected→catalog.events'
    ]
  )
  const envelope = {
    specversion: '1.0',
    id: orderId,
    type: 'order.placed',
    source: 'order',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: {}
  }
  assert.equal(Value.Check(EnvelopeSchema, envelope), true)
  assert.equal(Value.Check(EnvelopeSchema, { ...envelope, specversion: '0.3' }), false)
})
