import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeCursor, encodeCursor } from '../src/adapters/cursor.ts'
import { decideReservation, decideReservations } from '../src/domain/reserve.ts'

const a = '00000000-0000-4000-8000-00000000000a'
const b = '00000000-0000-4000-8000-00000000000b'

test('a reservation takes every line or none', () => {
  const rows = [
    { id: a, stock: 2, active: true },
    { id: b, stock: 5, active: true }
  ]

  assert.deepEqual(
    decideReservation(
      [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 }
      ],
      rows
    ),
    {
      ok: true,
      lines: [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 }
      ]
    }
  )
  assert.deepEqual(
    decideReservation(
      [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 1 }
      ],
      rows
    ),
    {
      ok: false,
      reason: 'insufficient stock',
      unavailable: [{ productId: a, requested: 3, available: 2 }]
    }
  )
})

test('repeated lines of one product add up; inactive or unknown products are unavailable', () => {
  const rows = [
    { id: a, stock: 3, active: true },
    { id: b, stock: 9, active: false }
  ]

  const repeated = decideReservation(
    [
      { productId: a, quantity: 2 },
      { productId: a, quantity: 2 }
    ],
    rows
  )
  assert.deepEqual(repeated, {
    ok: false,
    reason: 'insufficient stock',
    unavailable: [{ productId: a, requested: 4, available: 3 }]
  })
  const inactive = decideReservation([{ productId: b, quantity: 1 }], rows)
  assert.deepEqual(inactive, {
    ok: false,
    reason: 'products not available',
    unavailable: [{ productId: b, requested: 1, available: 0 }]
  })
})

test('a cursor round-trips and is refused for another sort or when tampered with', () => {
  const cursor = encodeCursor({ sort: 'price', value: '1999', id: a })

  assert.deepEqual(decodeCursor(cursor, 'price'), { sort: 'price', value: '1999', id: a })
  assert.equal(decodeCursor(cursor, 'name'), undefined)
  assert.equal(decodeCursor('not-a-cursor', 'price'), undefined)
  const forge = (value: unknown[]) => Buffer.from(JSON.stringify(value)).toString('base64url')
  assert.equal(decodeCursor(forge(['price', 1, 2]), 'price'), undefined)
  assert.equal(decodeCursor(forge(['price', '10', 'not-a-uuid']), 'price'), undefined)
  assert.equal(decodeCursor(forge(['price', 'ten', a]), 'price'), undefined)
})

test('a run of orders: each takes from what the ones before left; one decided before, or twice, gets nothing', () => {
  const stock = [
    { id: a, stock: 3, active: true },
    { id: b, stock: 1, active: true }
  ]
  const orders = [
    { orderId: 'o-1', lines: [{ productId: a, quantity: 2 }] },
    { orderId: 'o-2', lines: [{ productId: a, quantity: 2 }] }, // 1 left: rejected
    {
      orderId: 'o-3',
      lines: [
        { productId: a, quantity: 1 },
        { productId: b, quantity: 1 }
      ]
    },
    { orderId: 'O-1', lines: [{ productId: b, quantity: 1 }] }, // o-1 again (ids are case-blind)
    { orderId: 'o-0', lines: [{ productId: b, quantity: 1 }] } // decided in an earlier run
  ]
  const { decisions, taken } = decideReservations(orders, stock, new Set(['o-0']))

  assert.deepEqual(
    decisions.map((d) => d && d.ok),
    [true, false, true, undefined, undefined]
  )
  assert.deepEqual((decisions[1] as { unavailable: unknown }).unavailable, [
    { productId: a, requested: 2, available: 1 }
  ])
  assert.deepEqual(Object.fromEntries(taken), { [a]: 3, [b]: 1 })
  assert.equal(stock[0]!.stock, 3, 'the rows given are not changed')
})
