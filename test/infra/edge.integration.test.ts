import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { eventually, freePort } from '@platform/testing'

const run = promisify(execFile)
const nginxDir = fileURLToPath(new URL('../../deploy/nginx/', import.meta.url))

interface FakeGateway {
  address: string
  hits: number
  answer: number
  /** When set, requests are held until it is called. */
  hold?: Array<() => void>
}

async function fakeGateway(t: TestContext): Promise<FakeGateway> {
  const gateway: FakeGateway = { address: '', hits: 0, answer: 200 }
  const server: Server = createServer((_req, res) => {
    gateway.hits++
    if (gateway.hold) {
      gateway.hold.push(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
      return
    }
    // The headers a gateway's answer carries, about their usual size.
    res
      .writeHead(gateway.answer, {
        'content-type': 'application/json',
        'x-request-id': 'r'.repeat(32),
        'cache-control': 'public, max-age=1',
        etag: `W/"${'e'.repeat(40)}"`,
        link: `</api/v1/products?cursor=${'c'.repeat(300)}>; rel="next"`,
        traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`
      })
      .end('{"code":"FROM_GATEWAY"}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  gateway.address = `127.0.0.1:${(server.address() as AddressInfo).port}`
  t.after(() => new Promise((resolve) => server.close(resolve)))
  return gateway
}

/** A private NGINX with the edge config from deploy/nginx, in front of the given gateways. */
async function edge(t: TestContext, gateways: string[], env: Record<string, string> = {}): Promise<string> {
  const prefix = await mkdtemp(join(tmpdir(), 'edge-'))
  await chmod(prefix, 0o755) // NGINX's workers drop to an unprivileged user when run as root
  const port = await freePort()
  const conf = join(prefix, 'nginx.conf')
  await run('sh', [join(nginxDir, 'render.sh'), join(nginxDir, 'nginx.conf'), conf], {
    env: {
      ...process.env,
      EDGE_GATEWAYS: gateways.join(' '),
      NGINX_LISTEN: `127.0.0.1:${port}`,
      NGINX_WORKERS: '1',
      NGINX_PID: join(prefix, 'nginx.pid'),
      NGINX_TEMP: join(prefix, 'temp'),
      NGINX_ACCESS_LOG: '/dev/null',
      NGINX_ERROR_LOG: join(prefix, 'error.log'),
      EDGE_RATE_PER_IP: '10000r/s',
      EDGE_BURST_PER_IP: '10000',
      ...env
    }
  })
  const nginx = spawn('nginx', ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' })
  t.after(async () => {
    nginx.kill('SIGQUIT')
    await new Promise((resolve) => nginx.once('exit', resolve))
    await rm(prefix, { recursive: true, force: true })
  })
  const url = `http://127.0.0.1:${port}`
  await eventually(10_000, 'nginx answering', () =>
    fetch(`${url}/edge/health`).then(
      (res) => (res.ok ? true : undefined),
      () => undefined
    )
  )
  return url
}

test('the edge passes a gateway\u2019s 502, 503 and 504 on without trying another gateway (retries happen once, in the gateway)', async (t) => {
  const [a, b] = await Promise.all([fakeGateway(t), fakeGateway(t)])
  const url = await edge(t, [a.address, b.address])
  for (const status of [502, 503, 504]) {
    a.answer = b.answer = status
    a.hits = b.hits = 0
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${url}/api/v1/products/${status}-${i}`)
      assert.equal(res.status, status)
      assert.equal(((await res.json()) as { code: string }).code, 'FROM_GATEWAY')
    }
    assert.equal(a.hits + b.hits, 4, `${status}: one attempt per request`)
  }
})

test('the edge tries the other gateway when one refuses the connection, for a POST too (it never got the request)', async (t) => {
  const live = await fakeGateway(t)
  const gone = `127.0.0.1:${await freePort()}`
  const url = await edge(t, [gone, live.address])
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${url}/api/v1/orders`, {
      method: i % 2 ? 'POST' : 'GET',
      body: i % 2 ? '{}' : null
    })
    assert.equal(res.status, 200)
  }
  assert.equal(live.hits, 4)
})

test('a long URI reaches the gateway through the micro-cache; one too long, or a header too large, is a JSON 4xx', async (t) => {
  const gateway = await fakeGateway(t)
  const url = await edge(t, [gateway.address])

  // Under the request-line limit, with a response carrying the usual headers: answered by the
  // gateway, never "too big header" → 503 GATEWAY_UNAVAILABLE.
  const cursor = 'A'.repeat(3900)
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${url}/api/v1/products?cursor=${cursor}`)
    assert.equal(res.status, 200)
    assert.equal(((await res.json()) as { code: string }).code, 'FROM_GATEWAY')
  }

  // Its headers were never read: the request id is the edge's own.
  const long = await fetch(`${url}/api/v1/products?cursor=${'A'.repeat(5000)}`)
  assert.equal(long.status, 414)
  const body = (await long.json()) as { code: string; requestId: string }
  assert.equal(body.code, 'URI_TOO_LONG')
  assert.match(body.requestId, /^[0-9a-f]{32}$/)
  assert.equal(long.headers.get('x-request-id'), body.requestId)

  const header = await fetch(`${url}/api/v1/products`, { headers: { 'x-padding': 'x'.repeat(5000) } })
  assert.equal(header.status, 431)
  assert.equal(((await header.json()) as { code: string }).code, 'HEADERS_TOO_LARGE')
})

test('beyond EDGE_MAX_CONNS_PER_GATEWAY requests in flight the edge refuses at once; streams are not counted', async (t) => {
  const gateway = await fakeGateway(t)
  gateway.hold = []
  const url = await edge(t, [gateway.address], { EDGE_MAX_CONNS_PER_GATEWAY: '2' })
  const held = [fetch(`${url}/api/v1/orders/a`), fetch(`${url}/api/v1/orders/b`)]
  const stream = fetch(`${url}/api/v1/notifications/stream`)
  await eventually(5000, 'three requests at the gateway', async () => (gateway.hits === 3 ? true : undefined))

  const started = performance.now()
  const refused = await fetch(`${url}/api/v1/orders/c`)
  assert.equal(refused.status, 503)
  assert.equal(((await refused.json()) as { code: string }).code, 'GATEWAY_UNAVAILABLE')
  assert.equal(refused.headers.get('retry-after'), '1')
  assert.equal(gateway.hits, 3, 'the refused request never reached the gateway')
  assert.ok(performance.now() - started < 1000)

  const waiting = gateway.hold
  gateway.hold = undefined
  for (const release of waiting) release()
  assert.deepEqual(
    (await Promise.all([...held, stream])).map((r) => r.status),
    [200, 200, 200]
  )
  assert.equal((await fetch(`${url}/api/v1/orders/d`)).status, 200)
})
