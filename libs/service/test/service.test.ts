import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import Type from 'typebox'
import { readConfig } from '@platform/config'
import {
  baseConfig,
  createService,
  loadManifest,
  ManifestError,
  migrationSets,
  parseManifest
} from '../src/index.ts'

const pkg = { version: '1.2.3', description: 'Invoices' }

test('a manifest: defaults filled, version and description from package.json', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'manifest-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'package.json'), JSON.stringify(pkg))
  await writeFile(join(dir, 'service.json'), JSON.stringify({ name: 'billing', port: 3004 }))
  const manifest = loadManifest(dir)
  assert.deepEqual(manifest, {
    name: 'billing',
    port: 3004,
    redis: false,
    smtp: false,
    calls: [],
    produces: [],
    consumes: [],
    routes: [],
    streams: false,
    edge: false,
    version: '1.2.3',
    description: 'Invoices',
    dir
  })
})

test('a bad manifest names the file and every problem', () => {
  assert.throws(
    () => parseManifest({ name: 'Billing', port: 80, colour: 'red' }, 'billing/service.json', pkg),
    (err: Error) => {
      assert.ok(err instanceof ManifestError)
      assert.match(err.message, /^billing\/service\.json: /)
      assert.match(err.message, /\/name/)
      assert.match(err.message, /\/port/)
      assert.match(err.message, /colour/)
      return true
    }
  )
  assert.throws(
    () => parseManifest({ name: 'a', port: 3000, produces: ['a.events'], consumes: ['a.events'] }, 'f', pkg),
    /produces and consumes a\.events/
  )
  assert.throws(() => parseManifest({ name: 'a', port: 3000, calls: ['a'] }, 'f', pkg), /calls itself/)
})

test('the base config: the manifest port is the default, every problem named at once', () => {
  const schema = Type.Object(baseConfig({ port: 3004 }))
  assert.equal(readConfig(schema, {}).PORT, 3004)
  assert.equal(readConfig(schema, { PORT: '4000' }).PORT, 4000)
  assert.throws(
    () => readConfig(schema, { PORT: 'x', LOG_LEVEL: 'loud' }),
    /2 problems[\s\S]*PORT[\s\S]*LOG_LEVEL/
  )
})

test('migrations: its own folder when it has one, then the messaging tables when it has topics', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'manifest-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'service.json')
  const quiet = parseManifest({ name: 'a', port: 3000 }, file, pkg)
  const busy = parseManifest({ name: 'a', port: 3000, consumes: ['b.events'] }, file, pkg)
  assert.deepEqual(migrationSets(quiet), [])
  await mkdir(join(dir, 'migrations'))
  assert.deepEqual(migrationSets(quiet), [{ dir: join(dir, 'migrations') }])
  assert.deepEqual(
    migrationSets(busy).map((s) => s.table),
    [undefined, 'messaging_migrations']
  )
})

test('a service app: health and metrics from the base; upstreams and consumers only as the manifest says', async (t) => {
  const manifest = parseManifest({ name: 'billing', port: 3004, calls: ['order'] }, 'f', pkg)
  const config = readConfig(Type.Object(baseConfig(manifest)), { LOG_LEVEL: 'warn' })
  const service = await createService({ manifest, config })
  t.after(() => service.app.close())
  assert.throws(
    () => service.upstream('catalog', { timeoutMs: 100 }),
    /"catalog" is not in the manifest's calls/
  )
  assert.throws(() => service.consume({ handle: async () => {} }), /consumes no topic/)
  service.upstream('order', { url: 'http://127.0.0.1:1', timeoutMs: 100 })
  service.app.get('/hello', async () => ({ hello: 'world' }))
  await service.app.ready()

  assert.equal((await service.app.inject('/health/ready')).statusCode, 200)
  assert.deepEqual((await service.app.inject('/hello')).json(), { hello: 'world' })
  const metrics = (await service.app.inject('/metrics')).body
  assert.match(metrics, /service="billing"/)
  assert.match(metrics, /upstream="order"/)
})
