import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cancelOrder, type CancelOrderDeps } from '../src/domain/cancel-order.ts'
import type { Order } from '../src/domain/order.ts'

const order = (status: Order['status']): Order => ({
  id: '6a1f0e8e-4a57-4d7e-9a51-2f3d1c1b0a01',
  customerId: 'alice',
  status,
  lines: [{ productId: '0b7c1e2a-4d5f-4a6b-8c9d-0e1f2a3b4c5d', quantity: 1, unitPriceMinor: 500 }],
  totalMinor: 500,
  currency: 'EUR',
  createdAt: '2026-11-30T10:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z'
})

/** Deps over one stored order, recording what was announced. */
function store(current: Order | undefined, changedMeanwhile = false) {
  const announced: Order[] = []
  const deps: CancelOrderDeps = {
    find: async (id, customer) =>
      current && current.id === id && current.customerId === customer ? current : undefined,
    cancel: async (o) => (changedMeanwhile ? undefined : { ...o, status: 'CANCELLED' }),
    announce: async (o) => void announced.push(o)
  }
  return { deps, announced }
}

test('a PENDING or CONFIRMED order is cancelled and announced once', async () => {
  for (const status of ['PENDING', 'CONFIRMED'] as const) {
    const { deps, announced } = store(order(status))
    const cancelled = await cancelOrder('alice', order(status).id, deps)
    assert.equal(cancelled.status, 'CANCELLED')
    assert.deepEqual(announced, [cancelled])
  }
})

test('refusals say why and announce nothing', async () => {
  const cases: Array<[Order | undefined, string, boolean, number, string]> = [
    [undefined, 'alice', false, 404, 'ORDER_NOT_FOUND'],
    [order('PENDING'), 'bob', false, 404, 'ORDER_NOT_FOUND'], // another customer's order
    [order('REJECTED'), 'alice', false, 409, 'ILLEGAL_TRANSITION'],
    [order('CANCELLED'), 'alice', false, 409, 'ILLEGAL_TRANSITION'],
    [order('PENDING'), 'alice', true, 409, 'ILLEGAL_TRANSITION'] // the saga moved it meanwhile
  ]
  for (const [current, customer, changed, status, code] of cases) {
    const { deps, announced } = store(current, changed)
    await assert.rejects(cancelOrder(customer, order('PENDING').id, deps), { statusCode: status, code })
    assert.deepEqual(announced, [])
  }
})
