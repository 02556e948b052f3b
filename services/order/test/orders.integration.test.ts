import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { eventually } from '@platform/testing'
import { alice, bob, catalogService, order, orderService, sagaScope, waitForStatus } from './helpers.ts'

test('the saga: an order goes to CONFIRMED; out of stock → REJECTED with the reason; cancel gives stock back', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const { app } = await orderService(scope, { CATALOG_URL: catalog.url })
  const product = await catalog.createProduct(5)

  const placed = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': randomUUID() },
    payload: order(product, 2)
  })
  assert.equal(placed.statusCode, 201)
  const id = placed.json().id
  assert.equal(placed.headers.location, `/orders/${id}`)
  assert.deepEqual(
    [placed.json().status, placed.json().totalMinor, placed.json().lines[0].unitPriceMinor],
    ['PENDING', 2500, 1250]
  )
  await waitForStatus(app, id, 'CONFIRMED')
  assert.equal(await catalog.stockOf(product), 3)

  const tooMany = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': randomUUID() },
    payload: order(product, 4)
  })
  const rejected = await waitForStatus(app, tooMany.json().id, 'REJECTED')
  assert.equal(rejected.reason, 'insufficient stock')
  assert.equal(await catalog.stockOf(product), 3)

  const cancel = await app.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers: alice })
  assert.deepEqual([cancel.statusCode, cancel.json().status], [200, 'CANCELLED'])
  const again = await app.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers: alice })
  assert.deepEqual([again.statusCode, again.json().code], [409, 'ILLEGAL_TRANSITION'])
  const cancelRejected = await app.inject({
    method: 'POST',
    url: `/orders/${tooMany.json().id}/cancel`,
    headers: alice
  })
  assert.equal(cancelRejected.statusCode, 409)
  await eventually(30_000, 'stock back in the catalog', async () =>
    (await catalog.stockOf(product)) === 5 ? true : undefined
  )
})

test('idempotency: same key and body → same answer and one order; same key, other body → 422; no key → 400', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const { app, db } = await orderService(scope, { CATALOG_URL: catalog.url }, { messaging: false })
  const product = await catalog.createProduct(50)
  const key = randomUUID()
  const post = (payload: object, headers: Record<string, string> = { ...alice, 'idempotency-key': key }) =>
    app.inject({ method: 'POST', url: '/orders', headers, payload })

  const answers = await Promise.all([
    post(order(product, 1)),
    post(order(product, 1)),
    post(order(product, 1))
  ])
  assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([201]))
  assert.equal(new Set(answers.map((a) => a.json().id)).size, 1)
  const later = await post(order(product, 1))
  assert.deepEqual([later.statusCode, later.json().id], [201, answers[0]!.json().id])
  assert.equal((await db.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 1)

  const other = await post(order(product, 2))
  assert.deepEqual([other.statusCode, other.json().code], [422, 'IDEMPOTENCY_KEY_REUSED'])
  const noKey = await post(order(product, 1), alice)
  assert.deepEqual([noKey.statusCode, noKey.json().code], [400, 'IDEMPOTENCY_KEY_REQUIRED'])
  const anonymous = await post(order(product, 1), { 'idempotency-key': randomUUID() })
  assert.equal(anonymous.statusCode, 401)
  assert.equal((await db.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 1)
})

test('an Idempotency-Key past its 24 h window places a new order, and retention removes expired keys', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const { app, db } = await orderService(scope, { CATALOG_URL: catalog.url }, { messaging: false })
  const product = await catalog.createProduct(50)
  const key = randomUUID()
  const post = () =>
    app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...alice, 'idempotency-key': key },
      payload: order(product, 1)
    })
  const age = (hours: number, which = key) =>
    db.query(`UPDATE idempotency_keys SET created_at = now() - make_interval(hours => $1) WHERE key = $2`, [
      hours,
      which
    ])

  const first = await post()
  assert.equal(first.statusCode, 201)
  await age(23) // still inside the window: a replay
  const replay = await post()
  assert.deepEqual([replay.statusCode, replay.json().id], [201, first.json().id])

  await age(25) // outside it: the key is free again (it answered 500 forever before)
  const fresh = await post()
  assert.equal(fresh.statusCode, 201)
  assert.notEqual(fresh.json().id, first.json().id)
  const again = await post()
  assert.equal(again.json().id, fresh.json().id, 'the new order is what the key replays now')
  assert.equal((await db.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 2)

  const { pruneIdempotencyKeys } = await import('../src/adapters/orders-repository.ts')
  const old = randomUUID()
  const other = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...bob, 'idempotency-key': old },
    payload: order(product, 1)
  })
  assert.equal(other.statusCode, 201)
  await age(30, old)
  assert.equal(await pruneIdempotencyKeys(db), 1)
  const keys = await db.query<{ key: string }>('SELECT key FROM idempotency_keys ORDER BY key')
  assert.deepEqual(
    keys.rows.map((r) => r.key),
    [key],
    'the expired key is gone, the live one kept'
  )
})

test('bad baskets: unknown or inactive products → 422 naming them, line bounds → 400; nothing written', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const { app, db } = await orderService(scope, { CATALOG_URL: catalog.url }, { messaging: false })
  const product = await catalog.createProduct(5)
  const unknown = randomUUID()
  const post = (payload: object) =>
    app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...alice, 'idempotency-key': randomUUID() },
      payload
    })

  const missing = await post({
    lines: [
      { productId: product, quantity: 1 },
      { productId: unknown, quantity: 1 }
    ]
  })
  assert.deepEqual(
    [missing.statusCode, missing.json().code, missing.json().details.productIds],
    [422, 'PRODUCTS_UNAVAILABLE', [unknown]]
  )
  for (const payload of [
    { lines: [] },
    order(product, 0),
    order(product, 101),
    { lines: Array.from({ length: 51 }, () => ({ productId: product, quantity: 1 })) },
    { lines: [{ productId: 'x', quantity: 1 }] }
  ]) {
    const res = await post(payload)
    assert.deepEqual(
      [res.statusCode, res.json().code],
      [400, 'VALIDATION_FAILED'],
      JSON.stringify(payload).slice(0, 80)
    )
  }
  assert.equal((await db.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 0)
})

test('an order is its owner’s only: another customer gets 404; lists are per customer', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const { app } = await orderService(scope, { CATALOG_URL: catalog.url }, { messaging: false })
  const product = await catalog.createProduct(50)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { ...alice, 'idempotency-key': randomUUID() },
      payload: order(product)
    })
    ids.push(res.json().id)
  }

  const theirs = await app.inject({ url: `/orders/${ids[0]}`, headers: bob })
  assert.deepEqual([theirs.statusCode, theirs.json().code], [404, 'ORDER_NOT_FOUND'])
  assert.equal(
    (await app.inject({ method: 'POST', url: `/orders/${ids[0]}/cancel`, headers: bob })).statusCode,
    404
  )
  assert.deepEqual((await app.inject({ url: '/orders', headers: bob })).json().items, [])
  const page1 = (await app.inject({ url: '/orders?limit=2', headers: alice })).json()
  const page2 = (
    await app.inject({ url: `/orders?limit=2&cursor=${page1.nextCursor}`, headers: alice })
  ).json()
  assert.deepEqual(
    [...page1.items, ...page2.items].map((o: { id: string }) => o.id),
    [...ids].reverse()
  )
  assert.equal(page2.nextCursor, undefined)
})

test('catalog stopped → 503 with Retry-After, quickly, and no row written; a replay still gets its stored answer', async (t) => {
  const scope = await sagaScope(t)
  const catalog = await catalogService(scope)
  const { app, db } = await orderService(
    scope,
    { CATALOG_URL: catalog.url, CATALOG_TIMEOUT_MS: '300' },
    { messaging: false }
  )
  const product = await catalog.createProduct(5)
  const placedKey = randomUUID()
  const placed = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': placedKey },
    payload: order(product)
  })
  assert.equal(placed.statusCode, 201)
  await catalog.stop()

  const res = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': randomUUID() },
    payload: order(product)
  })

  assert.equal(res.statusCode, 503)
  assert.ok(Number(res.headers['retry-after']) >= 1)
  assert.equal(res.json().code, 'UPSTREAM_UNREACHABLE')
  assert.equal((await db.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 1, 'only the first')
  assert.equal((await db.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n, 1)

  // A replay of the order placed before still gets its answer: nothing needs the catalog.
  const replay = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...alice, 'idempotency-key': placedKey },
    payload: order(product)
  })
  assert.deepEqual([replay.statusCode, replay.json().id], [201, placed.json().id])
})
