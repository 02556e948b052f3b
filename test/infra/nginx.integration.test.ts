import assert from 'node:assert/strict'
import { test } from 'node:test'
import { stack } from '@platform/testing'

// The edge with or without gateways behind it (the platform's own e2e tests use it with them).
test('nginx: serves the edge config from deploy/nginx; its own errors are JSON with a request id', async () => {
  const health = await fetch(`${stack.nginx.url}/edge/health`)
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { status: 'ok', service: 'edge' })
  assert.equal(health.headers.get('server'), 'nginx') // server_tokens off: no version

  const unknown = await fetch(`${stack.nginx.url}/wp-admin`, { headers: { 'x-request-id': 'probe-1' } })
  assert.equal(unknown.status, 404)
  assert.equal(((await unknown.json()) as { code: string }).code, 'ROUTE_NOT_FOUND')
  assert.equal(unknown.headers.get('x-request-id'), 'probe-1')

  const generated = await fetch(`${stack.nginx.url}/nowhere`)
  assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/)

  const big = await fetch(`${stack.nginx.url}/api/v1/orders`, { method: 'POST', body: 'x'.repeat(70 * 1024) })
  assert.equal(big.status, 413)
  assert.equal(((await big.json()) as { code: string }).code, 'BODY_TOO_LARGE')
})
