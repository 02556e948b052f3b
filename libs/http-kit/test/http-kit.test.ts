import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AppError, UnavailableError } from '@platform/errors'
import { readSample } from '@platform/metrics'
import { kitApp } from './helpers.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

test('request ids: a plain X-Request-Id is kept, a missing or unsafe one is replaced, both echoed', async (t) => {
  const { app } = await kitApp({}, (a) => a.get('/id', async (req) => ({ id: req.id })))
  t.after(() => app.close())

  const kept = await app.inject({ url: '/id', headers: { 'x-request-id': 'edge-42.a' } })
  assert.equal(kept.json().id, 'edge-42.a')
  assert.equal(kept.headers['x-request-id'], 'edge-42.a')

  const generated = await app.inject({ url: '/id' })
  assert.match(generated.json().id, UUID)
  assert.equal(generated.headers['x-request-id'], generated.json().id)

  const unsafe = await app.inject({ url: '/id', headers: { 'x-request-id': 'x\n{"level":"fatal"}' } })
  assert.match(unsafe.json().id, UUID)
})

test('a schema violation is a 400 VALIDATION_FAILED naming the fields', async (t) => {
  const { app } = await kitApp({}, (a) =>
    a.post(
      '/items',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'qty'],
            properties: { name: { type: 'string', maxLength: 5 }, qty: { type: 'integer', minimum: 1 } }
          }
        }
      },
      async () => ({ ok: true })
    )
  )
  t.after(() => app.close())

  const res = await app.inject({
    method: 'POST',
    url: '/items',
    payload: { name: 'too long', qty: 0, extra: 1 }
  })

  assert.equal(res.statusCode, 400)
  const body = res.json()
  assert.equal(body.code, 'VALIDATION_FAILED')
  assert.equal(body.requestId, res.headers['x-request-id'])
  const paths = body.details.map((d: { path: string; property?: string }) => d.property ?? d.path).sort()
  assert.deepEqual(paths, ['/name', '/qty', 'extra'])
})

test('AppError keeps its status and code; UnavailableError adds Retry-After', async (t) => {
  const { app } = await kitApp({}, (a) => {
    a.get('/conflict', async () => {
      throw new AppError(409, 'SKU_TAKEN', 'SKU exists', { details: { sku: 'A' } })
    })
    a.get('/unavailable', async () => {
      throw new UnavailableError('UPSTREAM_UNAVAILABLE', 'catalog is unavailable', 7)
    })
  })
  t.after(() => app.close())

  const conflict = await app.inject({ url: '/conflict' })
  assert.equal(conflict.statusCode, 409)
  assert.deepEqual(
    { code: conflict.json().code, details: conflict.json().details },
    { code: 'SKU_TAKEN', details: { sku: 'A' } }
  )

  const unavailable = await app.inject({ url: '/unavailable' })
  assert.equal(unavailable.statusCode, 503)
  assert.equal(unavailable.headers['retry-after'], '7')
  assert.equal(unavailable.json().code, 'UPSTREAM_UNAVAILABLE')
})

test('an unexpected error is a bare 500: no stack, no SQL; logged with the request id', async (t) => {
  const { app, logs } = await kitApp({}, (a) =>
    a.get('/boom', async () => {
      throw new Error('duplicate key value violates unique constraint "products_sku_key" SELECT * FROM x')
    })
  )
  t.after(() => app.close())

  const res = await app.inject({ url: '/boom' })

  assert.equal(res.statusCode, 500)
  assert.deepEqual(Object.keys(res.json()).sort(), ['code', 'message', 'requestId'])
  assert.equal(res.json().code, 'INTERNAL_ERROR')
  assert.doesNotMatch(res.body, /duplicate|SELECT|at .*\.ts/)
  const logged = logs.find((l) => l.msg === 'request failed')
  assert.equal(logged?.level, 'error')
  assert.equal(logged?.request_id, res.json().requestId)
  assert.match(JSON.stringify(logged?.err), /duplicate key/)
})

test('client errors from Fastify get stable codes: 413, malformed JSON, unsupported type, 404', async (t) => {
  const { app } = await kitApp({}, (a) => a.post('/echo', async (req) => req.body), 64)
  t.after(() => app.close())

  const big = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'x'.repeat(100) } })
  assert.equal(big.statusCode, 413)
  assert.equal(big.json().code, 'BODY_TOO_LARGE')

  const bad = await app.inject({
    method: 'POST',
    url: '/echo',
    headers: { 'content-type': 'application/json' },
    payload: '{"a":'
  })
  assert.equal(bad.statusCode, 400)
  assert.equal(bad.json().code, 'MALFORMED_BODY')

  const xml = await app.inject({
    method: 'POST',
    url: '/echo',
    headers: { 'content-type': 'application/xml' },
    payload: '<a/>'
  })
  assert.equal(xml.statusCode, 415)
  assert.equal(xml.json().code, 'UNSUPPORTED_MEDIA_TYPE')

  const missing = await app.inject({ url: '/nope?secret=1' })
  assert.equal(missing.statusCode, 404)
  assert.deepEqual(
    [missing.json().code, missing.json().message],
    ['ROUTE_NOT_FOUND', 'no route for GET /nope']
  )
})

test('/metrics records the route template and status class, never the raw URL', async (t) => {
  const { app } = await kitApp({}, (a) => a.get('/products/:id', async () => ({})))
  t.after(() => app.close())

  await app.inject({ url: '/products/123' })
  await app.inject({ url: '/products/456' })
  await app.inject({ url: '/unknown/789' })
  const res = await app.inject({ url: '/metrics' })

  assert.match(String(res.headers['content-type']), /^text\/plain/)
  const labels = { method: 'GET', route: '/products/:id', status_class: '2xx' }
  assert.equal(readSample(res.body, 'http_request_duration_seconds_count', labels), 2)
  assert.equal(
    readSample(res.body, 'http_request_duration_seconds_count', { route: 'unmatched', status_class: '4xx' }),
    1
  )
  assert.doesNotMatch(res.body, /\/products\/123|\/unknown\/789/)
})

test('bodies are validated strictly (no type coercion); query strings are coerced', async (t) => {
  const { app } = await kitApp({}, (a) =>
    a.post(
      '/items',
      {
        schema: {
          querystring: { type: 'object', properties: { limit: { type: 'integer' } } },
          body: {
            type: 'object',
            properties: { qty: { type: 'integer' }, id: { type: 'string', format: 'uuid' } }
          }
        }
      },
      async (req) => ({ query: req.query, body: req.body })
    )
  )
  t.after(() => app.close())

  const coerced = await app.inject({ method: 'POST', url: '/items?limit=20', payload: { qty: 2 } })
  assert.deepEqual(coerced.json(), { query: { limit: 20 }, body: { qty: 2 } })

  const strict = await app.inject({ method: 'POST', url: '/items', payload: { qty: '2' } })
  assert.equal(strict.statusCode, 400)
  assert.equal(strict.json().details[0].path, '/qty')

  const format = await app.inject({ method: 'POST', url: '/items', payload: { id: 'not-a-uuid' } })
  assert.equal(format.statusCode, 400)
})

test('a dependency that is away (a database restarting, a refused connection) is a 503 with Retry-After, not a 500', async (t) => {
  const failures: Record<string, () => Error> = {
    'admin shutdown': () =>
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    'connection exception': () => Object.assign(new Error('connection failure'), { code: '08006' }),
    'too many connections': () =>
      Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
    refused: () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    'pg connection lost': () => new Error('Connection terminated unexpectedly'),
    'pg pool timeout': () => new Error('timeout exceeded when trying to connect')
  }
  const { app } = await kitApp({}, (a) => {
    for (const [i, make] of Object.values(failures).entries())
      a.get(`/failure/${i}`, async () => {
        throw make()
      })
    a.get('/bug', async () => {
      throw Object.assign(new Error('duplicate key'), { code: '23505' }) // a constraint: a bug, not an outage
    })
  })
  t.after(() => app.close())
  for (const [i, name] of Object.keys(failures).entries()) {
    const res = await app.inject({ url: `/failure/${i}` })
    assert.deepEqual([res.statusCode, res.json().code], [503, 'DEPENDENCY_UNAVAILABLE'], name)
    assert.equal(res.headers['retry-after'], '1', name)
    assert.doesNotMatch(res.body, /administrator|ECONNREFUSED|5432|terminated/, name)
  }
  assert.equal((await app.inject({ url: '/bug' })).statusCode, 500)
})
