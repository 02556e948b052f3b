import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eventually, stack } from '@platform/testing'

interface QueryResult {
  status: string
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }
}

test('prometheus: answers its API and scrapes itself', async () => {
  const info = await fetch(`${stack.prometheus.url}/api/v1/status/buildinfo`)
  assert.equal(info.status, 200)
  assert.match(((await info.json()) as { data: { version: string } }).data.version, /^3\./)

  const up = await eventually(30_000, 'a sample of up{job="prometheus"}', async () => {
    const res = await fetch(
      `${stack.prometheus.url}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}')}`
    )
    const body = (await res.json()) as QueryResult
    return body.data.result[0]
  })
  assert.equal(up.value[1], '1')
})
