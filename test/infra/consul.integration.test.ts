import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { eventually, host, stack } from '@platform/testing'

interface HealthEntry {
  Service: { ID: string }
  Checks: Array<{ Status: string }>
}

async function consul(path: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(`${stack.consul.url}${path}`, init)
  if (!res.ok) throw new Error(`consul ${path}: ${res.status} ${await res.text()}`)
  return res
}

test('consul: a registered service with an HTTP check turns passing, then deregisters', async (t) => {
  const server = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  t.after(() => server.close())
  const port = (server.address() as AddressInfo).port
  const name = `smoke-${randomUUID().slice(0, 8)}`
  const id = `${name}-1`

  await consul('/v1/agent/service/register', {
    method: 'PUT',
    body: JSON.stringify({
      ID: id,
      Name: name,
      Address: host,
      Port: port,
      Check: {
        HTTP: `http://${host}:${port}/health`,
        Interval: '1s',
        Timeout: '1s',
        DeregisterCriticalServiceAfter: '1m'
      }
    })
  })
  t.after(() => consul(`/v1/agent/service/deregister/${id}`, { method: 'PUT' }).catch(() => {}))

  const passing = await eventually(15_000, 'check passing', async () => {
    const entries = (await (await consul(`/v1/health/service/${name}?passing=true`)).json()) as HealthEntry[]
    return entries.length > 0 ? entries : undefined
  })
  assert.equal(passing[0]?.Service.ID, id)

  await consul(`/v1/agent/service/deregister/${id}`, { method: 'PUT' })
  const after = (await (await consul(`/v1/health/service/${name}`)).json()) as HealthEntry[]
  assert.deepEqual(after, [])
})
