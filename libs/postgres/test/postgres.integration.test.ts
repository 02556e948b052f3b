import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test, type TestContext } from 'node:test'
import Fastify from 'fastify'
import { httpKit, serverOptions } from '@platform/http-kit'
import { createMetrics, readSample } from '@platform/metrics'
import {
  checkPostgres,
  createPool,
  migrate,
  migrateAll,
  MigrationError,
  postgres,
  withTransaction
} from '../src/index.ts'
import { scratchSchema } from '@platform/testing'

/** A pool on a scratch schema of the real server, ended and dropped after the test. */
async function scratchPool(t: TestContext) {
  const { url, drop } = await scratchSchema()
  const pool = createPool({ connectionString: url })
  t.after(async () => {
    await pool.end()
    await drop()
  })
  return { pool, url }
}

const fixtures = (name: string) => fileURLToPath(new URL(`./fixtures/${name}/`, import.meta.url))

test('migrations apply in order once, and a second run applies nothing', async (t) => {
  const { pool } = await scratchPool(t)

  const first = await migrate(pool, { dir: fixtures('migrations') })
  const second = await migrate(pool, { dir: fixtures('migrations') })

  assert.deepEqual(first, { applied: ['0001', '0002'], current: '0002' })
  assert.deepEqual(second, { applied: [], current: '0002' })
  await pool.query('INSERT INTO items (id, name, price_minor) VALUES (1, $1, 250)', ['pen'])
  await assert.rejects(
    pool.query('INSERT INTO items (id, name, price_minor) VALUES (2, $1, -1)', ['x']),
    /check constraint/
  )
})

test('several sets apply in order, each recorded in its own table', async (t) => {
  const { pool } = await scratchPool(t)
  const extra = await mkdtemp(join(tmpdir(), 'migrations-'))
  t.after(() => rm(extra, { recursive: true, force: true }))
  await writeFile(join(extra, '0001_extras.sql'), 'CREATE TABLE extras (item_id int REFERENCES items (id));')

  const results = await migrateAll(pool, [
    { dir: fixtures('migrations') },
    { dir: extra, table: 'extra_migrations' }
  ])

  assert.deepEqual(results, [
    { table: 'schema_migrations', applied: ['0001', '0002'], current: '0002' },
    { table: 'extra_migrations', applied: ['0001'], current: '0001' }
  ])
  const { rows } = await pool.query<{ version: string }>('SELECT version FROM extra_migrations')
  assert.deepEqual(rows, [{ version: '0001' }])
})

test('instances migrating at the same time apply each migration once', async (t) => {
  const { url, drop } = await scratchSchema()
  const pools = [
    createPool({ connectionString: url }),
    createPool({ connectionString: url }),
    createPool({ connectionString: url })
  ]
  t.after(async () => {
    await Promise.all(pools.map((p) => p.end()))
    await drop()
  })

  const results = await Promise.all(pools.map((p) => migrate(p, { dir: fixtures('migrations') })))

  assert.deepEqual(results.flatMap((r) => r.applied).sort(), ['0001', '0002'])
})

test('a failing migration rolls back entirely and names the file; earlier ones stay', async (t) => {
  const { pool } = await scratchPool(t)

  await assert.rejects(migrate(pool, { dir: fixtures('broken') }), (err: Error) => {
    assert.ok(err instanceof MigrationError)
    assert.match(err.message, /0002_half_done\.sql failed: relation "no_such_table" does not exist/)
    return true
  })
  const { rows } = await pool.query(`SELECT to_regclass('half_done') AS half, to_regclass('items') AS items`)
  assert.deepEqual(rows[0], { half: null, items: 'items' })
  const versions = await pool.query('SELECT version FROM schema_migrations')
  assert.deepEqual(versions.rows, [{ version: '0001' }])
})

test('an applied migration whose file changed is refused', async (t) => {
  const { pool } = await scratchPool(t)
  await migrate(pool, { dir: fixtures('migrations') })
  await pool.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = '0001'`)

  await assert.rejects(
    migrate(pool, { dir: fixtures('migrations') }),
    /0001_create_items\.sql changed after it was applied/
  )
})

test('withTransaction commits on success and rolls back when the work throws', async (t) => {
  const { pool } = await scratchPool(t)
  await migrate(pool, { dir: fixtures('migrations') })

  await withTransaction(pool, async (c) => {
    await c.query(`INSERT INTO items (id, name) VALUES (1, 'kept')`)
  })
  await assert.rejects(
    withTransaction(pool, async (c) => {
      await c.query(`INSERT INTO items (id, name) VALUES (2, 'lost')`)
      throw new Error('business rule failed')
    }),
    /business rule failed/
  )

  const { rows } = await pool.query('SELECT name FROM items ORDER BY id')
  assert.deepEqual(rows, [{ name: 'kept' }])
  assert.equal(pool.idleCount, pool.totalCount) // every client went back to the pool
})

test('the readiness check passes on the real server and fails fast on a dead port', async (t) => {
  const { url, drop } = await scratchSchema()
  const live = createPool({ connectionString: url })
  const dead = createPool({ connectionString: 'postgres://x:y@127.0.0.1:1/none', connectionTimeoutMs: 500 })
  t.after(async () => {
    await Promise.all([live.end(), dead.end()])
    await drop()
  })

  await checkPostgres(live)
  await assert.rejects(checkPostgres(dead), /ECONNREFUSED/)
})

test('the plugin migrates at start, reports readiness and pool use, and closes the pool on shutdown', async (t) => {
  const { url, drop } = await scratchSchema()
  t.after(drop)
  const metrics = createMetrics({ service: 'test', processMetrics: false })
  const app = Fastify(serverOptions({ logger: false }))
  await app.register(httpKit, { metrics })
  await app.register(postgres, {
    connectionString: url,
    name: 'catalog',
    metrics,
    migrations: [{ dir: fixtures('migrations') }]
  })
  await app.ready()

  const ready = await app.inject({ url: '/health/ready' })
  assert.equal(ready.statusCode, 200)
  assert.equal(ready.json().checks.catalog.status, 'ok')
  const text = (await app.inject({ url: '/metrics' })).body
  assert.equal(readSample(text, 'db_pool_connections', { pool: 'catalog', state: 'total' }), 1)
  assert.equal((await app.pg.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 0)

  await app.close()
  assert.equal(app.pg.ended, true)
})

test('a checked-out client whose connection the server ends does not crash the process; the pool recovers', async (t) => {
  const { pool } = await scratchPool(t)
  const client = await pool.connect()
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  // What a server restart does to every backend ("terminating connection due to administrator command").
  await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid])
  await new Promise((resolve) => setTimeout(resolve, 200)) // the client hears of it while checked out
  await assert.rejects(client.query('SELECT 1'))
  client.release(new Error('gone'))
  assert.equal((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n, 1)
})
