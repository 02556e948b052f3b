// Every operation of the committed OpenAPI document, driven through the edge of the running platform
// with inputs generated from its schemas (valid ones, and invalid ones made from them): every answer
// is a status the document declares for it, with the body it declares; a valid input is never
// refused as invalid, an invalid one always is. The edge's own refusals are checked the same way.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request, type IncomingHttpHeaders } from 'node:http'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import fc from 'fast-check'
import { platform } from '@platform/testing'
import { tokenFor } from '../support/browser.ts'
import { usePlatform } from '../support/platform.ts'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
const doc = JSON.parse(
  readFileSync(new URL('../../libs/contracts/generated/openapi.json', import.meta.url), 'utf8')
) as Json
const edge = platform.edge

/** A schema with its references to components replaced by them (the document has no cycles). */
function resolve(schema: unknown): Json {
  if (schema === null || typeof schema !== 'object') return schema as Json
  if (Array.isArray(schema)) return schema.map(resolve) as unknown as Json
  const ref = (schema as Json).$ref as string | undefined
  if (ref)
    return resolve(
      ref
        .split('/')
        .slice(1)
        .reduce((node: Json, key) => node[key], doc)
    )
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolve(v)]))
}

/** Values valid under a (resolved) schema, from fast-check. */
function arbitrary(s: Json): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.anyOf) return fc.oneof(...(s.anyOf as Json[]).map(arbitrary))
  switch (s.type) {
    case 'string':
      if (s.format === 'uuid') return fc.uuid({ version: 4 })
      if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
      if (s.pattern)
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? 40))
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) })
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1000, max: Math.min(s.maximum ?? 1000, 1_000_000) })
    case 'number':
      return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'array':
      return fc.array(arbitrary(s.items), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 3, 3)
      })
    case 'object': {
      const props = Object.fromEntries(
        Object.entries(s.properties ?? {}).map(([k, v]) => [k, arbitrary(v as Json)])
      )
      return fc.record(props, { requiredKeys: s.required ?? [] })
    }
    default:
      return fc.constant(null)
  }
}
const sample = (s: Json) => fc.sample(arbitrary(s), { numRuns: 1, seed: Date.now() })[0] as Json

/** A value that breaks a (resolved) schema at its top, or undefined when nothing simple does. */
function breaking(s: Json): unknown[] {
  switch (s.type) {
    case 'string':
      return [
        ...(s.format === 'uuid' ? ['not-a-uuid'] : []),
        ...(s.minLength ? [''] : []),
        ...(s.maxLength ? ['x'.repeat(s.maxLength + 1)] : []),
        ...(s.pattern ? ['\u0001'] : [])
      ]
    case 'integer':
      return [
        'many',
        1.5,
        ...(s.minimum !== undefined ? [s.minimum - 1] : []),
        ...(s.maximum !== undefined ? [s.maximum + 1] : [])
      ]
    case 'boolean':
      return ['maybe']
    case 'object':
      return ['an object expected', []]
    case 'array':
      return ['an array expected', ...(s.minItems ? [[]] : [])]
    default:
      return s.anyOf ? [{ none: 'of these' }] : []
  }
}

/**
 * fetch, waiting out a 429 as a well-behaved client does: the test's callers share their
 * per-minute limit with the other tests' (rate limiting itself is tested in the gateway's tests).
 */
async function fetch(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await globalThis.fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
    if (res.status !== 429 || attempt === 5) return res
    await res.body?.cancel()
    await sleep(Math.min(Number(res.headers.get('retry-after') ?? 1), 30) * 1000)
  }
}

/** A request fetch won't make (TRACE), through node:http. */
function raw(
  method: string,
  path: string
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${edge}${path}`, { method }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject).end()
  })
}

interface Op {
  method: string
  path: string
  spec: Json
}
const operations: Op[] = Object.entries(doc.paths as Json).flatMap(([path, methods]) =>
  Object.entries(methods as Json).map(([method, spec]) => ({
    method: method.toUpperCase(),
    path,
    spec: spec as Json
  }))
)

const ajv = new Ajv({ strict: false, allErrors: true })
;(addFormats as unknown as (a: Ajv) => void)(ajv)
const validators = new Map<string, ValidateFunction>()
const validatorOf = (op: Op, status: string): ValidateFunction | undefined => {
  const key = `${op.method} ${op.path} ${status}`
  if (!validators.has(key)) {
    const schema = resolve(op.spec.responses[status])?.content?.['application/json']?.schema
    if (schema) validators.set(key, ajv.compile(schema))
  }
  return validators.get(key)
}

let undo: () => Promise<void> = async () => {}
const tokens: Record<string, string> = {}
const fixtures: { productId?: string; orderId?: string } = {}
const seen: string[] = [] // "METHOD path → status" of every call, for the coverage assertion
const created: Array<{ id: string }> = []
/** The product this test changes and deletes (made again once deleted), at its current version. */
const scratch = { id: '', etag: '' }
async function scratchProduct(): Promise<void> {
  // With a token: past the edge's micro-cache, so the version is the current one.
  const current = scratch.id
    ? await fetch(`${edge}/api/v1/products/${scratch.id}`, {
        headers: { authorization: `Bearer ${tokens.admin}` }
      })
    : undefined
  if (current?.status === 200) {
    scratch.etag = current.headers.get('etag')!
    return
  }
  const res = await fetch(`${edge}/api/v1/products`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      sku: `CONFORM-${randomUUID().slice(0, 8)}`,
      name: 'Conformance',
      priceMinor: 100,
      currency: 'EUR',
      stock: 1,
      active: false
    })
  })
  assert.equal(res.status, 201)
  const product = (await res.json()) as { id: string }
  created.push(product)
  Object.assign(scratch, { id: product.id, etag: res.headers.get('etag')! })
}

before(async () => {
  undo = await usePlatform()
  tokens.user = await tokenFor(edge, 'bob')
  tokens.admin = await tokenFor(edge, 'admin')
  const page = (await (await fetch(`${edge}/api/v1/products?limit=5&active=true`)).json()) as {
    items: Array<{ id: string }>
  }
  fixtures.productId = page.items[0]!.id
})

after(async () => {
  // What the generated inputs created goes again (an order is cancelled, a product deleted).
  for (const product of created) {
    const current = await fetch(`${edge}/api/v1/products/${product.id}`)
    if (current.status !== 200) continue
    await fetch(`${edge}/api/v1/products/${product.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${tokens.admin}`, 'if-match': current.headers.get('etag')! }
    })
  }
  await undo()
})

interface Call {
  params?: Record<string, unknown>
  query?: Record<string, unknown>
  headers?: Record<string, string>
  body?: unknown
  rawBody?: string
  contentType?: string
  token?: string | null
}

/** The caller an operation needs: an admin where the document says 403, a customer elsewhere. */
const tokenOf = (op: Op) =>
  op.spec.security
    ? op.spec.responses['403'] // the admin role is required
      ? tokens.admin
      : tokens.user
    : undefined

async function call(op: Op, c: Call): Promise<{ status: number; body: unknown; headers: Headers }> {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(String(c.params?.[name] ?? ''))
  )
  const query = new URLSearchParams(
    Object.entries(c.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, String(v)])
  ).toString()
  const token = c.token === null ? undefined : (c.token ?? tokenOf(op))
  const body = c.rawBody ?? (c.body !== undefined ? JSON.stringify(c.body) : undefined)
  const res = await fetch(`${edge}${path}${query ? `?${query}` : ''}`, {
    method: op.method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': c.contentType ?? 'application/json' } : {}),
      ...c.headers
    },
    ...(body !== undefined ? { body } : {})
  })
  const stream = res.headers.get('content-type')?.startsWith('text/event-stream')
  const text = stream ? (await res.body?.cancel(), '') : await res.text()
  seen.push(`${op.method} ${op.path} → ${res.status}`)
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
}

/** The answer is declared for the operation, and its body is the declared one. */
function conforms(op: Op, answer: { status: number; body: unknown; headers: Headers }, what: string) {
  const status = String(answer.status)
  const declared = Object.keys(op.spec.responses)
  assert.ok(
    declared.includes(status),
    `${op.method} ${op.path} (${what}) answered ${status}, not declared (${declared.join(', ')}): ${JSON.stringify(answer.body)}`
  )
  const validate = validatorOf(op, status)
  if (validate)
    assert.ok(
      validate(answer.body),
      `${op.method} ${op.path} ${status} (${what}): ${ajv.errorsText(validate.errors)} in ${JSON.stringify(answer.body).slice(0, 300)}`
    )
  else if (!answer.headers.get('content-type')?.startsWith('text/event-stream'))
    assert.equal(
      answer.body,
      undefined,
      `${op.method} ${op.path} ${status}: a body the document does not declare`
    )
  if (answer.status === 429 || answer.status === 503)
    assert.match(answer.headers.get('retry-after') ?? '', /^\d+$/)
}

/** Valid inputs: generated from the schemas, with real ids where the operation needs an existing thing. */
function validCall(op: Op): Call {
  const params: Record<string, unknown> = {}
  const query: Record<string, unknown> = {}
  const headers: Record<string, string> = {}
  for (const p of (op.spec.parameters ?? []) as Json[]) {
    const value = sample(resolve(p.schema))
    if (p.in === 'path') params[p.name] = value
    if (p.in === 'query' && (p.required || Math.random() < 0.5)) query[p.name] = value
    if (p.in === 'header') headers[p.name] = String(value)
  }
  if (op.path.startsWith('/api/v1/products/{id}')) params.id = fixtures.productId
  // A change goes to a product of this test's, at its current version.
  if (op.path === '/api/v1/products/{id}' && op.method !== 'GET') {
    params.id = scratch.id
    headers['if-match'] = scratch.etag
  }
  if (op.path.startsWith('/api/v1/orders/{id}') && fixtures.orderId) params.id = fixtures.orderId
  if (op.path.includes('/admin/services/')) {
    // A dead-letter queue nobody writes: a replay can't put a real letter back on its topic.
    params.dlq = 'conformance.none.dlq'
  }
  delete query.cursor // a cursor is the service's to issue: a made-up one is refused (tested below)
  const schema = resolve(op.spec.requestBody?.content['application/json'].schema)
  let body = schema ? sample(schema) : undefined
  if (op.path === '/api/v1/orders' && op.method === 'POST')
    body = { lines: [{ productId: fixtures.productId, quantity: 1 }] }
  if (op.path === '/api/v1/auth/token') body = { username: 'bob', password: 'demo' }
  if (op.path.startsWith('/api/v1/products') && body) body.active = false // never on sale
  return { params, query, headers, body }
}

/** Invalid inputs: each one breaks one field of a valid call. */
function invalidCalls(op: Op, valid: Call): Array<[string, Call]> {
  const calls: Array<[string, Call]> = []
  for (const p of (op.spec.parameters ?? []) as Json[]) {
    for (const bad of breaking(resolve(p.schema))) {
      if (p.in === 'path')
        calls.push([
          `path ${p.name}=${JSON.stringify(bad)}`,
          { ...valid, params: { ...valid.params, [p.name]: bad } }
        ])
      if (p.in === 'query')
        calls.push([
          `query ${p.name}=${JSON.stringify(bad)}`,
          { ...valid, query: { ...valid.query, [p.name]: bad } }
        ])
    }
    if (p.in === 'query' && /^(limit|cursor|q|sort|active|key|pending)$/.test(p.name))
      calls.push([`query ${p.name} empty`, { ...valid, query: { ...valid.query, [p.name]: '' } }])
    if (p.in === 'header' && p.name === 'idempotency-key')
      calls.push(['no idempotency-key', { ...valid, headers: {} }])
  }
  const schema = resolve(op.spec.requestBody?.content['application/json'].schema)
  if (schema) {
    calls.push(['body not JSON', { ...valid, rawBody: '{"lines": [', body: undefined }])
    calls.push([
      'body not application/json',
      { ...valid, rawBody: 'a=1', contentType: 'application/x-www-form-urlencoded' }
    ])
    calls.push(['body an array', { ...valid, body: [] }])
    calls.push([
      'body with an unknown field',
      { ...valid, body: { ...(valid.body as Json), unknownField: 1 } }
    ])
    for (const name of (schema.required ?? []) as string[]) {
      const { [name]: _, ...rest } = valid.body as Json
      calls.push([`body without ${name}`, { ...valid, body: rest }])
    }
    for (const [name, s] of Object.entries((schema.properties ?? {}) as Json))
      for (const bad of breaking(s as Json))
        calls.push([
          `body ${name}=${JSON.stringify(bad)}`,
          { ...valid, body: { ...(valid.body as Json), [name]: bad } }
        ])
  }
  return calls
}

test('every operation answers generated valid inputs as its document says, never refusing them as invalid', async () => {
  // An order of the caller's first, so that the order operations have one to act on.
  const placing = operations.find((o) => o.method === 'POST' && o.path === '/api/v1/orders')!
  const placed = await call(placing, { ...validCall(placing), headers: { 'idempotency-key': randomUUID() } })
  conforms(placing, placed, 'valid')
  assert.equal(placed.status, 201)
  fixtures.orderId = (placed.body as { id: string }).id

  for (const op of operations) {
    for (let i = 0; i < 3; i++) {
      await scratchProduct()
      const valid = validCall(op)
      const answer = await call(op, valid)
      conforms(op, answer, `valid ${JSON.stringify(valid)}`)
      assert.notEqual(
        answer.status,
        400,
        `${op.method} ${op.path} refused valid input ${JSON.stringify(valid)}: ${JSON.stringify(answer.body)}`
      )
      if (op.method === 'POST' && op.path === '/api/v1/products' && answer.status === 201)
        created.push(answer.body as { id: string })
    }
  }
  // Every operation was reached, and answered at least once with a declared success.
  const succeeded = new Set(seen.filter((s) => / → 2\d\d$/.test(s)).map((s) => s.split(' → ')[0]))
  const missing = operations
    .map((o) => `${o.method} ${o.path}`)
    .filter((o) => !succeeded.has(o) && !o.includes('/replay'))
  assert.deepEqual(missing, [], 'operations never answered with success')
})

test('every operation refuses generated invalid inputs with a declared 4xx and the error body', async () => {
  let refused = 0
  for (const op of operations) {
    await scratchProduct()
    const valid = validCall(op)
    for (const [what, c] of invalidCalls(op, valid)) {
      const answer = await call(op, c)
      conforms(op, answer, what)
      assert.ok(
        answer.status >= 400 && answer.status < 500,
        `${op.method} ${op.path} accepted invalid input (${what}): ${answer.status}`
      )
      assert.match((answer.body as { code: string }).code, /^[A-Z][A-Z0-9_]*$/)
      refused++
    }
    if (op.spec.security) {
      const anonymous = await call(op, { ...valid, token: null })
      conforms(op, anonymous, 'no token')
      assert.equal(anonymous.status, 401)
    }
  }
  assert.ok(refused > 100, `only ${refused} invalid inputs were tried`)
})

test('the edge’s own refusals are JSON with a stable code, and declared where an operation can get them', async () => {
  const products = operations.find((o) => o.method === 'POST' && o.path === '/api/v1/products')!
  const tooLarge = await call(products, {
    rawBody: JSON.stringify({ name: 'x'.repeat(70_000) }),
    token: tokens.admin
  })
  conforms(products, tooLarge, 'a body over the edge’s limit')
  assert.equal(tooLarge.status, 413)

  const list = operations.find((o) => o.method === 'GET' && o.path === '/api/v1/products')!
  const longUri = await call(list, { query: { q: 'x'.repeat(5000) } })
  conforms(list, longUri, 'a request line over 4 KiB')
  assert.equal(longUri.status, 414)
  assert.equal((longUri.body as { code: string }).code, 'URI_TOO_LONG')

  // A method the path doesn't have: 405 with Allow, at the edge (the web app) and at the gateway.
  for (const [method, path, allow] of [
    ['POST', '/cart', 'GET, HEAD'],
    ['TRACE', '/', 'GET, HEAD'],
    ['DELETE', '/api/v1/products', 'GET, POST, HEAD']
  ] as const) {
    const res = await raw(method, path)
    assert.equal(res.status, 405, `${method} ${path}`)
    assert.equal(res.headers.allow, allow)
    assert.match(res.headers['content-type'] ?? '', /^application\/json/)
    const body = JSON.parse(res.body) as { code: string; requestId: string }
    assert.equal(body.code, 'METHOD_NOT_ALLOWED')
    assert.match(body.requestId, /^[0-9a-f]+$/)
  }
  const missing = await fetch(`${edge}/assets/no-such-file.js`)
  assert.equal(missing.status, 404)
  assert.equal(missing.headers.get('content-type'), 'application/json')
  assert.equal(((await missing.json()) as { code: string }).code, 'NOT_FOUND')
})
