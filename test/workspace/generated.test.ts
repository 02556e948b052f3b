// The files generated from the service manifests are committed up to date, and a new manifest
// reaches every one of them.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { parseManifest } from '@platform/service'
import { generated } from '../../scripts/generate.ts'
import { manifests } from '../../scripts/services.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

test('the generated files are up to date with the manifests (npm run generate)', async () => {
  await run(process.execPath, ['--conditions=development', 'scripts/generate.ts', '--check'], { cwd: root })
})

test('a new service manifest reaches the compose file, the chart values, the database init and the topics', async () => {
  const billing = parseManifest(
    {
      name: 'billing',
      port: 3004,
      database: 'billing',
      calls: ['order'],
      consumes: ['order.events'],
      produces: ['billing.events'],
      routes: [{ prefix: '/api/v1/invoices', access: 'user' }]
    },
    'services/billing/service.json',
    { version: '0.1.0', description: 'Invoices' }
  )
  const files = generated([...manifests(), billing])
  const render = async (file: string) => files.get(file)!(await readFile(`${root}${file}`, 'utf8'))

  const compose = parse(await render('docker-compose.yml')) as {
    services: Record<string, { environment: Record<string, string>; depends_on: Record<string, unknown> }>
  }
  assert.equal(
    compose.services.billing!.environment.DATABASE_URL,
    'postgres://billing:billing@postgres:5432/billing'
  )
  assert.equal(compose.services.billing!.environment.PORT, '3004')
  assert.deepEqual(Object.keys(compose.services.billing!.depends_on).sort(), [
    'consul',
    'kafka',
    'kafka-topics',
    'order',
    'postgres'
  ])
  assert.ok('billing' in compose.services['gateway-1']!.depends_on, 'the edge waits for it')
  assert.match(
    await render('services/gateway/src/routes/services.generated.ts'),
    /"service":"billing","prefix":"\/api\/v1\/invoices","access":"user"/
  )
  const values = parse(await render('helm/platform/values.yaml')) as {
    services: Record<string, { port: number; ingressFrom: string[]; egressTo: string[] }>
  }
  assert.equal(values.services.billing!.port, 3004)
  assert.deepEqual(values.services.billing!.egressTo, ['postgres', 'kafka', 'order'])
  assert.ok(
    values.services.order!.ingressFrom.includes('billing'),
    'the order service lets its new caller in'
  )
  assert.match(await render('deploy/postgres/init.sql'), /unnest\(ARRAY\[[^\]]*'billing'\]\)/)
  const topics = JSON.parse(await render('deploy/kafka/topics.json')) as { topics: Array<{ name: string }> }
  assert.ok(topics.topics.some((t) => t.name === 'billing.events'))
})
