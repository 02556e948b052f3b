import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { messagingMigrationsDir } from '@platform/messaging'
import { scratchSchema } from '@platform/testing'

const run = promisify(execFile)
const src = (file: string) => fileURLToPath(new URL(`../src/${file}`, import.meta.url))
const node = (file: string, env: Record<string, string>) =>
  run(process.execPath, ['--conditions=development', src(file)], { env: { ...process.env, ...env } })

test('migrate, then seed: over 1,000 products, and seeding again adds nothing', async (t) => {
  const schema = await scratchSchema()
  t.after(schema.drop)
  const env = { DATABASE_URL: schema.url }

  const migrated = await node('migrate.ts', env)
  // Every migration of the service's own and of the messaging lib's, up to the newest of each.
  for (const [table, dir] of [
    ['schema_migrations', fileURLToPath(new URL('../migrations', import.meta.url))],
    ['messaging_migrations', messagingMigrationsDir]
  ] as const) {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()
    assert.ok(files.length > 0, `migrations in ${dir}`)
    assert.match(
      migrated.stdout,
      new RegExp(`${table}: ${files.length} applied, at ${files.at(-1)!.slice(0, 4)}`)
    )
  }
  const first = await node('seed.ts', env)
  const second = await node('seed.ts', env)

  assert.match(first.stdout, /seeded 1200 new products/)
  assert.match(second.stdout, /seeded 0 new products \(1200 already there\)/)
  const db = new pg.Client({ connectionString: schema.url })
  await db.connect()
  t.after(() => db.end())
  const { rows } = await db.query(
    `SELECT count(*)::int AS n, count(DISTINCT name)::int AS names, min(price_minor)::int AS min_price, bool_or(NOT active) AS some_inactive FROM products`
  )
  assert.equal(rows[0].n, 1200)
  assert.ok(rows[0].names > 100)
  assert.ok(rows[0].min_price > 0)
  assert.equal(rows[0].some_inactive, true)
})

test('a missing DATABASE_URL is one clear line, not a stack trace ten calls later', async () => {
  await assert.rejects(node('migrate.ts', { DATABASE_URL: '' }), (err: { stderr: string; code: number }) => {
    assert.equal(err.code, 1)
    assert.equal(
      err.stderr,
      'catalog: configuration: invalid configuration (1 problem):\n  DATABASE_URL: missing (expected string, length >= 1)\n'
    )
    return true
  })
})

test('an unreachable database is one clear line too', async () => {
  await assert.rejects(
    node('migrate.ts', { DATABASE_URL: 'postgres://x:y@127.0.0.1:1/none' }),
    (err: { stderr: string; code: number }) => {
      assert.equal(err.code, 1)
      assert.equal(err.stderr, 'catalog migrate: cannot reach 127.0.0.1:1 (ECONNREFUSED)\n')
      return true
    }
  )
})
