import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { admin, catalogs, create, newProduct } from './helpers.ts'

test('CRUD with the version check: ETag, If-Match required, stale versions refused', async (t) => {
  const {
    apps: [app]
  } = await catalogs(t)
  const created = await app!.inject({
    method: 'POST',
    url: '/products',
    headers: admin,
    payload: newProduct({ name: 'Walnut Desk Lamp' })
  })
  assert.equal(created.statusCode, 201)
  const product = created.json()
  assert.equal(created.headers.location, `/products/${product.id}`)
  assert.equal(created.headers.etag, '"1"')

  const read = await app!.inject({ url: `/products/${product.id}` })
  assert.equal(read.statusCode, 200)
  assert.equal(read.json().name, 'Walnut Desk Lamp')

  const noIfMatch = await app!.inject({
    method: 'PATCH',
    url: `/products/${product.id}`,
    headers: admin,
    payload: { stock: 3 }
  })
  assert.deepEqual([noIfMatch.statusCode, noIfMatch.json().code], [428, 'PRECONDITION_REQUIRED'])

  const patched = await app!.inject({
    method: 'PATCH',
    url: `/products/${product.id}`,
    headers: { ...admin, 'if-match': '"1"' },
    payload: { stock: 3 }
  })
  assert.equal(patched.statusCode, 200)
  assert.deepEqual([patched.json().stock, patched.json().version, patched.headers.etag], [3, 2, '"2"'])

  const stale = await app!.inject({
    method: 'PUT',
    url: `/products/${product.id}`,
    headers: { ...admin, 'if-match': '"1"' },
    payload: newProduct()
  })
  assert.deepEqual([stale.statusCode, stale.json().code], [412, 'VERSION_MISMATCH'])

  const replaced = await app!.inject({
    method: 'PUT',
    url: `/products/${product.id}`,
    headers: { ...admin, 'if-match': '2' },
    payload: newProduct({ name: 'Oak Desk Lamp' })
  })
  assert.deepEqual(
    [replaced.statusCode, replaced.json().name, replaced.json().version],
    [200, 'Oak Desk Lamp', 3]
  )

  const deleted = await app!.inject({
    method: 'DELETE',
    url: `/products/${product.id}`,
    headers: { ...admin, 'if-match': '"3"' }
  })
  assert.equal(deleted.statusCode, 204)
  const gone = await app!.inject({ url: `/products/${product.id}` })
  assert.deepEqual([gone.statusCode, gone.json().code], [404, 'PRODUCT_NOT_FOUND'])
})

test('writes need an authenticated admin: 401 without a user, 403 without the role; nothing is written', async (t) => {
  const {
    apps: [app]
  } = await catalogs(t)

  const anonymous = await app!.inject({ method: 'POST', url: '/products', payload: newProduct() })
  const customer = await app!.inject({
    method: 'POST',
    url: '/products',
    headers: { 'x-user-id': 'u-1', 'x-user-roles': 'customer' },
    payload: newProduct()
  })

  assert.deepEqual([anonymous.statusCode, anonymous.json().code], [401, 'UNAUTHENTICATED'])
  assert.deepEqual([customer.statusCode, customer.json().code], [403, 'FORBIDDEN'])
  assert.deepEqual((await app!.inject({ url: '/products' })).json().items, [])
})

test('bad input gets a 4xx with a stable code and writes nothing', async (t) => {
  const {
    apps: [app]
  } = await catalogs(t)
  const existing = await create(app!)
  const post = (payload: unknown) =>
    app!.inject({ method: 'POST', url: '/products', headers: admin, payload: payload as object })

  const cases: Array<
    [string, Promise<{ statusCode: number; json: () => { code: string } }>, number, string]
  > = [
    ['malformed id', app!.inject({ url: '/products/not-a-uuid' }), 400, 'VALIDATION_FAILED'],
    ['unknown id', app!.inject({ url: `/products/${randomUUID()}` }), 404, 'PRODUCT_NOT_FOUND'],
    ['negative price', post(newProduct({ priceMinor: -1 })), 400, 'VALIDATION_FAILED'],
    ['negative stock', post(newProduct({ stock: -5 })), 400, 'VALIDATION_FAILED'],
    ['over-long name', post(newProduct({ name: 'x'.repeat(201) })), 400, 'VALIDATION_FAILED'],
    ['unknown field', post({ ...newProduct(), colour: 'red' }), 400, 'VALIDATION_FAILED'],
    ['wrong type', post(newProduct({ priceMinor: '1999' })), 400, 'VALIDATION_FAILED'],
    ['bad currency', post(newProduct({ currency: 'euro' })), 400, 'VALIDATION_FAILED'],
    [
      'duplicate SKU',
      post(newProduct({ sku: (await app!.inject({ url: `/products/${existing.id}` })).json().sku })),
      409,
      'SKU_TAKEN'
    ],
    ['body over the limit', post(newProduct({ description: 'x'.repeat(70_000) })), 413, 'BODY_TOO_LARGE']
  ]
  for (const [name, response, status, code] of cases) {
    const res = await response
    assert.deepEqual([res.statusCode, res.json().code], [status, code], name)
  }
  const { items } = (await app!.inject({ url: '/products' })).json()
  assert.deepEqual(
    items.map((p: { id: string }) => p.id),
    [existing.id]
  )
})

test('pagination: empty list, limit bounds, every page in order, last page without a cursor', async (t) => {
  const {
    apps: [app]
  } = await catalogs(t)
  assert.deepEqual((await app!.inject({ url: '/products' })).json(), { items: [] })
  for (const limit of [0, 101]) {
    const res = await app!.inject({ url: `/products?limit=${limit}` })
    assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_FAILED'], `limit=${limit}`)
  }
  const names = [
    'Pear',
    'Apple',
    'Fig',
    'Cherry',
    'Banana',
    'Date',
    'Elderberry',
    'Grape',
    'Kiwi',
    'Lemon',
    'Mango',
    'Honeydew'
  ]
  for (const [i, name] of names.entries())
    await create(app!, newProduct({ name, priceMinor: 100 * (names.length - i) }))

  const seen: string[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = (await app!.inject({ url: `/products?limit=5${cursor ? `&cursor=${cursor}` : ''}` })).json()
    seen.push(...page.items.map((p: { name: string }) => p.name))
    cursor = page.nextCursor
    pages++
  } while (cursor)
  assert.equal(pages, 3)
  assert.deepEqual(seen, [...names].sort())

  const byPrice = (await app!.inject({ url: '/products?sort=price&limit=3' })).json()
  assert.deepEqual(
    byPrice.items.map((p: { name: string }) => p.name),
    ['Honeydew', 'Mango', 'Lemon']
  )
  const searched = (await app!.inject({ url: '/products?q=mango' })).json()
  assert.deepEqual(
    searched.items.map((p: { name: string }) => p.name),
    ['Mango']
  )
  const tampered = Buffer.from(JSON.stringify(['price', '1; DROP TABLE products', 'zzz'])).toString(
    'base64url'
  )
  const badCursor = await app!.inject({ url: `/products?sort=price&cursor=${tampered}` })
  assert.deepEqual([badCursor.statusCode, badCursor.json().code], [400, 'INVALID_CURSOR'])
  const crossCursor = await app!.inject({ url: `/products?sort=name&cursor=${byPrice.nextCursor}` })
  assert.equal(crossCursor.statusCode, 400)
})

test('the active filter and the batch lookup used to price a basket', async (t) => {
  const {
    apps: [app]
  } = await catalogs(t)
  const on = await create(app!, newProduct({ active: true }))
  const off = await create(app!, newProduct({ active: false }))
  const unknown = randomUUID()

  const active = (await app!.inject({ url: '/products?active=true' })).json()
  assert.deepEqual(
    active.items.map((p: { id: string }) => p.id),
    [on.id]
  )

  const batch = await app!.inject({
    method: 'POST',
    url: '/products/batch',
    payload: { ids: [on.id, off.id, unknown] }
  })
  assert.equal(batch.statusCode, 200)
  assert.deepEqual(
    batch
      .json()
      .items.map((p: { id: string }) => p.id)
      .sort(),
    [on.id, off.id].sort()
  )
  assert.deepEqual(batch.json().missing, [unknown])

  const tooMany = await app!.inject({
    method: 'POST',
    url: '/products/batch',
    payload: { ids: Array.from({ length: 101 }, () => randomUUID()) }
  })
  assert.equal(tooMany.statusCode, 400)
})

test('PATCH changes only the fields it names: no default fills in the others', async (t) => {
  const {
    apps: [app]
  } = await catalogs(t)
  const created = await create(app!, newProduct({ description: 'Hand-finished walnut.', active: false }))
  const patched = await app!.inject({
    method: 'PATCH',
    url: `/products/${created.id}`,
    headers: { ...admin, 'if-match': '"1"' },
    payload: { stock: 3 }
  })
  assert.equal(patched.statusCode, 200)
  const { stock, description, active } = patched.json()
  assert.deepEqual(
    { stock, description, active },
    { stock: 3, description: 'Hand-finished walnut.', active: false }
  )
  const read = (await app!.inject({ url: `/products/${created.id}` })).json()
  assert.deepEqual([read.description, read.active], ['Hand-finished walnut.', false])
})

test('a search or a cursor that could never be valid is a 400 before any query: control characters, odd cursors', async (t) => {
  const {
    apps: [app]
  } = await catalogs(t)
  for (const url of [
    '/products?q=a%00b', // PostgreSQL refuses a NUL byte: it was a 500
    '/products?q=tab%09here',
    `/products?cursor=${'%7B'.repeat(300)}`,
    '/products?cursor=',
    `/products?cursor=${'A'.repeat(513)}`
  ]) {
    const res = await app!.inject({ url })
    assert.deepEqual([res.statusCode, res.json().code], [400, 'VALIDATION_FAILED'], url)
  }
  const fine = await app!.inject({ url: '/products?q=%C3%BCber%20%E2%80%99' })
  assert.equal(fine.statusCode, 200)
  const forged = await app!.inject({ url: '/products?cursor=WyJ4Il0' }) // base64url, but not ours
  assert.deepEqual([forged.statusCode, forged.json().code], [400, 'INVALID_CURSOR'])
})
