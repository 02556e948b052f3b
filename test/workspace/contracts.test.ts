// The API and event documents are valid, every consumer's declared reads are met by its
// producers, and nothing breaks the committed baseline — while a deliberately breaking change does.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { Parser } from '@asyncapi/parser'
import { Validator } from '@seriousme/openapi-schema-validator'
import Type from 'typebox'
import { Events } from '@platform/contracts'
import {
  apiBreakingChanges,
  asyncApiDocument,
  breakingChanges,
  eventBreakingChanges,
  loadReads,
  readProblems,
  scratchDocuments,
  subsetProblems
} from '../../scripts/contracts.ts'
import { manifests } from '../../scripts/services.ts'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
const root = new URL('../../', import.meta.url)
const load = (file: string) => JSON.parse(readFileSync(new URL(file, root), 'utf8')) as Json
const openapi = load('libs/contracts/generated/openapi.json')
const asyncapi = load('libs/contracts/generated/asyncapi.json')
const all = manifests()
const reads = await loadReads(all)

test('the OpenAPI document is valid OpenAPI 3.1, and declares the errors every operation can answer', async () => {
  const result = await new Validator().validate(structuredClone(openapi))
  assert.equal(result.valid, true, JSON.stringify(result.errors))
  assert.equal(openapi.openapi, '3.1.0')
  const cancel = openapi.paths['/api/v1/orders/{id}/cancel'].post
  for (const status of ['400', '401', '404', '409', '429', '503'])
    assert.ok(cancel.responses[status], `cancel declares ${status}`)
  const create = openapi.paths['/api/v1/products'].post
  for (const status of ['400', '401', '403', '413', '415'])
    assert.ok(create.responses[status], `create declares ${status}`)
  assert.equal(
    openapi.paths['/api/v1/products'].get.responses['401'],
    undefined,
    'a public read needs no token'
  )
  // The cursor the schema accepts is the one the services accept (never empty).
  const cursor = openapi.paths['/api/v1/products'].get.parameters.find((p: Json) => p.name === 'cursor')
  assert.equal(cursor.schema.minLength, 1)
})

test('the AsyncAPI document is valid AsyncAPI 3, with every event type, its version and who sends and reads it', async () => {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncapi))
  const serious = diagnostics.filter((d) => d.severity < 2) // errors and warnings; not "a newer version exists"
  assert.deepEqual(
    serious.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`),
    []
  )
  assert.ok(document)
  assert.equal(document.version(), '3.0.0')
  assert.deepEqual(
    document
      .messages()
      .all()
      .map((m) => m.id())
      .sort(),
    Object.keys(Events)
      .map((t) => `${t}.v1`)
      .sort()
  )
  const operation = (id: string) =>
    document
      .operations()
      .all()
      .find((o) => o.id() === id)
  assert.equal(operation('order.send.orderEvents')?.action(), 'send')
  const catalogReads = operation('catalog.receive.orderEvents')
    ?.messages()
    .all()
    .map((m) => m.id())
    .sort()
  assert.deepEqual(catalogReads, ['order.cancelled.v1', 'order.placed.v1', 'order.rejected.v1'])
  const placed = asyncapi.components.messages['order.placed.v1']
  assert.equal(placed.payload.properties.dataschema.const, 'urn:platform:events:order.placed:v1')
  assert.deepEqual(placed.examples[0].payload.data, Events['order.placed'].example)
})

test('every consumer’s declared reads are met by its producers’ schemas and examples', () => {
  assert.deepEqual(readProblems(all, reads), [])
  assert.deepEqual([...reads.keys()].sort(), ['catalog', 'notification', 'order'])
})

test('a producer dropping or changing what a consumer reads fails the reads check', () => {
  const events = structuredClone(Events) as unknown as NonNullable<Parameters<typeof readProblems>[2]>
  // The catalog stops saying why it rejected: the order service reads the reason.
  events['stock.rejected']!.schema = Type.Object(
    { orderId: Type.String({ format: 'uuid' }) },
    { additionalProperties: false }
  )
  events['stock.rejected']!.example = { orderId: Events['stock.rejected'].example.orderId }
  // Quantities become strings: the catalog reserves integers.
  events['order.placed']!.schema = Type.Object({
    orderId: Type.String({ format: 'uuid' }),
    lines: Type.Array(Type.Object({ productId: Type.String({ format: 'uuid' }), quantity: Type.String() }), {
      minItems: 1
    })
  })
  const problems = readProblems(all, reads, events)
  assert.ok(
    problems.some((p) =>
      /^order reads stock.rejected v1: \/reason: absent where the reader requires it/.test(p)
    ),
    problems.join('\n')
  )
  assert.ok(
    problems.some((p) =>
      /^catalog reads order.placed v1: \/lines\/items\/quantity: string where the reader expects integer/.test(
        p
      )
    ),
    problems.join('\n')
  )
  assert.ok(
    problems.some((p) => /^order reads stock.rejected: the producer's example fails/.test(p)),
    problems.join('\n')
  )

  // The catalog's batch lookup loses `active`, which the order service prices with.
  const internal = {
    'catalog POST /products/batch': {
      response: Type.Object({
        items: Type.Array(Type.Object({ id: Type.String(), priceMinor: Type.Integer({ minimum: 0 }) }))
      }),
      example: { items: [] }
    }
  }
  const http = readProblems(all, reads, undefined, internal)
  assert.ok(
    http.some((p) => /^order reads catalog POST \/products\/batch: \/items\/items\/active: absent/.test(p)),
    http.join('\n')
  )
})

test('the subset rule: what a reader can read, and what it can’t', () => {
  const Id = Type.String({ format: 'uuid' })
  const closed = Type.Object(
    { id: Id, n: Type.Integer({ minimum: 1, maximum: 5 }) },
    { additionalProperties: false }
  )
  assert.deepEqual(
    subsetProblems(closed, Type.Object({ id: Id })),
    [],
    'a reader ignores what it does not read'
  )
  assert.deepEqual(
    subsetProblems(closed, Type.Object({ n: Type.Number({ minimum: 0 }) })),
    [],
    'integer within number, tighter bounds'
  )
  assert.equal(
    subsetProblems(
      Type.Object({ id: Id, n: Type.Integer() }),
      Type.Object({ n: Type.Integer({ minimum: 1 }) })
    ).length,
    1
  )
  assert.equal(
    subsetProblems(Type.Union([Type.Literal('a'), Type.Literal('b')]), Type.Union([Type.Literal('a')]))
      .length,
    1,
    'a value the reader does not know'
  )
  assert.deepEqual(subsetProblems(Type.Literal('a'), Type.String()), [])
  assert.equal(
    subsetProblems(Type.Object({}), Type.Object({ id: Id })).length,
    1,
    'an open object may carry anything as id'
  )
})

test('nothing breaks the committed baseline (oasdiff for the API, the subset rule both ways for events)', () => {
  assert.deepEqual(breakingChanges(), { api: [], events: [] })
})

test('a breaking API change fails against the baseline: a field removed, a type changed, a required input added', () => {
  const broken = structuredClone(openapi)
  const product = broken.components.schemas.Product
  delete product.properties.name
  product.required = product.required.filter((n: string) => n !== 'name')
  broken.components.schemas.Order.properties.totalMinor.type = 'string'
  broken.components.schemas.ProductInput.properties.brand = { type: 'string' }
  broken.components.schemas.ProductInput.required.push('brand')
  const docs = scratchDocuments({ openapi: broken, asyncapi })
  try {
    const changes = apiBreakingChanges(
      new URL('libs/contracts/baseline/openapi.json', root).pathname,
      `${docs.dir}/openapi.json`
    ).join('\n')
    assert.match(changes, /response-required-property-removed/)
    assert.match(changes, /response-property-type-changed/)
    assert.match(changes, /new-required-request-property/)
  } finally {
    docs.drop()
  }
  // Compatible changes pass: a new optional output field, a new optional input field.
  const fine = structuredClone(openapi)
  fine.components.schemas.Product.properties.tags = { type: 'array', items: { type: 'string' } }
  fine.components.schemas.ProductInput.properties.tags = { type: 'array', items: { type: 'string' } }
  const ok = scratchDocuments({ openapi: fine, asyncapi })
  try {
    assert.deepEqual(
      apiBreakingChanges(
        new URL('libs/contracts/baseline/openapi.json', root).pathname,
        `${ok.dir}/openapi.json`
      ),
      []
    )
  } finally {
    ok.drop()
  }
})

test('a breaking event change fails unless the version is bumped and the previous one still read', () => {
  const baseline = load('libs/contracts/baseline/asyncapi.json')
  const document = (events: Json) => asyncApiDocument(all, reads, events as never)
  const withPlaced = (change: Json) =>
    document({ ...Events, 'order.placed': { ...Events['order.placed'], ...change } })
  const Line = Type.Object(
    {
      productId: Type.String({ format: 'uuid' }),
      quantity: Type.Integer({ minimum: 1, maximum: 100 }),
      unitPriceMinor: Type.Integer({ minimum: 0 })
    },
    { additionalProperties: false }
  )
  const placed = (props: Json) =>
    Type.Object(
      {
        orderId: Type.String({ format: 'uuid' }),
        customerId: Type.String({ minLength: 1, maxLength: 128 }),
        lines: Type.Array(Line, { minItems: 1, maxItems: 50 }),
        currency: Type.String({ pattern: '^[A-Z]{3}$' }),
        ...props
      },
      { additionalProperties: false }
    )
  const total = { totalMinor: Type.Integer({ minimum: 0 }) }

  // The same schema is no change; a new optional field is compatible both ways.
  assert.deepEqual(eventBreakingChanges(baseline, document(Events)), [])
  assert.deepEqual(
    eventBreakingChanges(
      baseline,
      withPlaced({ schema: placed({ ...total, note: Type.Optional(Type.String()) }) })
    ),
    []
  )
  // A field removed: consumers of the baseline can't read it.
  const removed = eventBreakingChanges(baseline, withPlaced({ schema: placed({}) }))
  assert.ok(
    removed.some((p) =>
      /^order.placed v1: a consumer of the baseline can't read it: \/totalMinor: absent/.test(p)
    ),
    removed.join('\n')
  )
  // A required field added: the events already sent lack it.
  const added = eventBreakingChanges(
    baseline,
    withPlaced({ schema: placed({ ...total, channel: Type.String() }) })
  )
  assert.ok(
    added.some((p) => /^order.placed v1: events already sent can't be read: \/channel: absent/.test(p)),
    added.join('\n')
  )
  // Bumped without keeping v1: the events still in flight would be dead-lettered.
  const bumped = eventBreakingChanges(baseline, withPlaced({ version: 2, schema: placed({}) }))
  assert.ok(
    bumped.some((p) => /^order.placed: v1 is no longer read/.test(p)),
    bumped.join('\n')
  )
  // Bumped, v1 kept as the previous version: accepted.
  assert.deepEqual(
    eventBreakingChanges(
      baseline,
      withPlaced({
        version: 2,
        schema: placed({}),
        previous: { version: 1, schema: Events['order.placed'].schema, upgrade: (d: never) => d }
      })
    ),
    []
  )
  // A type gone.
  const { 'order.cancelled': _gone, ...rest } = Events
  assert.ok(
    eventBreakingChanges(baseline, document(rest)).includes(
      'order.cancelled: removed (consumers still read it)'
    )
  )
})
