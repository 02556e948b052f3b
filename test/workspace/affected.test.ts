// What the delivery pipeline builds for a change set (scripts/affected.ts): made-up diffs against
// the real Nx project graph.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { affected } from '../../scripts/affected.ts'
import { manifests } from '../../scripts/services.ts'

const every = manifests().map((m) => m.name)

test('a lib change affects the lib, the libs and services that depend on it, and their images', async () => {
  const result = await affected(['libs/messaging/src/outbox.ts'])
  assert.ok(result.projects.includes('messaging'))
  assert.ok(result.roots.includes('libs/messaging'))
  assert.ok(result.projects.includes('service'), 'the service base imports messaging')
  assert.ok(!result.projects.includes('contracts'), 'messaging depends on contracts, not the reverse')
  assert.deepEqual([...result.images].sort(), [...every].sort(), 'every service is built on the service base')
  assert.equal(result.chart, true)
})

test('a change inside one service builds, tests and ships only that service', async () => {
  const result = await affected(['services/order/src/app.ts'])
  assert.deepEqual(result.projects, ['order'])
  assert.deepEqual(result.roots, ['services/order'])
  assert.deepEqual(result.images, ['order'])
})

test('a documentation change affects nothing', async () => {
  assert.deepEqual(await affected(['docs/runbook.md', 'README.md']), {
    projects: [],
    roots: [],
    images: [],
    chart: false
  })
})

test('the web app or the contracts it is typed from rebuild the edge image', async () => {
  const web = await affected(['apps/web/src/pages/Cart.tsx'])
  assert.deepEqual(web.projects, ['web'])
  assert.deepEqual(web.images, ['edge'])
  assert.equal(web.chart, true)
  const contracts = await affected(['libs/contracts/src/api.ts'])
  assert.ok(contracts.images.includes('edge') && contracts.images.includes('order'), contracts.images.join())
  assert.deepEqual((await affected(['.nvmrc'])).images, [...every, 'edge'])
})

test('the Dockerfile rebuilds every image; a chart change only republishes the chart', async () => {
  assert.deepEqual((await affected(['Dockerfile'])).images, every)
  assert.deepEqual(await affected(['helm/platform/values.yaml']), {
    projects: [],
    roots: [],
    images: [],
    chart: true
  })
})
