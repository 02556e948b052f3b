import assert from 'node:assert/strict'
import { test } from 'node:test'
import { stack } from '@platform/testing'

test('nginx: serves the edge config from deploy/nginx', async () => {
  const health = await fetch(`${stack.nginx.url}/edge/health`)
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { status: 'ok', service: 'edge' })
  assert.equal(health.headers.get('server'), 'nginx') // server_tokens off: no version

  const api = await fetch(`${stack.nginx.url}/api/v1/products`)
  assert.equal(api.status, 503)
  assert.equal(((await api.json()) as { code: string }).code, 'UPSTREAM_NOT_CONFIGURED')
})
