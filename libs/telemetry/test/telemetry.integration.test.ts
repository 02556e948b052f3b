import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { databaseUrl, eventually } from '@platform/testing'
import { decodeSpans, decodeTraceRequest } from './otlp-decode.ts'

async function listen(handler: (req: IncomingMessage, body: Buffer) => unknown) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(handler(req, Buffer.concat(chunks)) ?? {}))
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** Runs the fixture service in a child process, as a service runs, and returns its URL. */
async function startFixture(t: TestContext, env: Record<string, string>, upstream: string): Promise<string> {
  const dir = fileURLToPath(new URL('./fixtures/', import.meta.url))
  const child = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      `${dir}instrumentation.ts`,
      `${dir}app.ts`,
      databaseUrl('catalog'),
      upstream
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit']
    }
  )
  t.after(() => child.kill())
  const port = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()))
  )
  return `http://127.0.0.1:${port}`
}

test('one trace spans the Fastify request, its pg query and its undici call, exported over OTLP/HTTP', async (t) => {
  const exports: Buffer[] = []
  const collector = await listen((req, body) => {
    if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf') {
      exports.push(body)
    }
  })
  const upstreamHeaders: string[] = []
  const upstream = await listen((req) => {
    upstreamHeaders.push(String(req.headers.traceparent))
    return { price: 100 }
  })
  t.after(() => {
    collector.server.close()
    upstream.server.close()
  })
  const app = await startFixture(t, { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, upstream.url)

  const res = await fetch(`${app}/products/42`)
  assert.equal(res.status, 200)

  const spans = await eventually(10_000, 'server, pg and undici spans exported', async () => {
    const all = exports.flatMap(decodeSpans)
    return all.length >= 3 ? all : undefined
  })
  const traceIds = new Set(spans.map((s) => s.traceId))
  assert.equal(traceIds.size, 1, 'every span belongs to the one trace')
  const [traceId] = traceIds
  assert.match(upstreamHeaders[0] ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))
  const server = spans.find((s) => s.kind === 2 /* SERVER */)
  assert.ok(server, 'a server span')
  assert.equal(server.name, 'GET /products/:id', 'named by its route')
  const query = spans.find((s) => s.name.startsWith('pg.query'))
  assert.ok(query && ('db.system.name' in query.attributes || 'db.system' in query.attributes), 'a pg span')
  assert.equal(query.parentSpanId, server.spanId, "the query is the request's child")
  const call = spans.find(
    (s) => s.kind === 3 /* CLIENT */ && Object.keys(s.attributes).some((k) => k.startsWith('http.'))
  )
  assert.ok(call, 'an undici span')
  assert.equal(call.parentSpanId, server.spanId, "the call is the request's child")
  assert.equal(decodeTraceRequest(exports[0]!)[0]?.resource['service.name'], 'fixture')
})

test('without an endpoint telemetry is off: no spans, no propagation, the service works', async (t) => {
  const upstreamHeaders: Array<string | undefined> = []
  const upstream = await listen((req) => {
    upstreamHeaders.push(req.headers.traceparent as string | undefined)
    return { price: 100 }
  })
  t.after(() => upstream.server.close())
  const app = await startFixture(t, { OTEL_EXPORTER_OTLP_ENDPOINT: '' }, upstream.url)

  const res = await fetch(`${app}/products/42`)

  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { db: 1, upstream: { price: 100 } })
  assert.deepEqual(upstreamHeaders, [undefined])
})
