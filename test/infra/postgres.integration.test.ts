import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { databaseUrl } from '@platform/testing'

for (const db of ['catalog', 'orders', 'notifications'] as const) {
  test(`postgres: the ${db} role queries its own database`, async (t) => {
    const client = new pg.Client({ connectionString: databaseUrl(db) })
    await client.connect()
    t.after(() => client.end())

    const { rows } = await client.query<{ db: string; role: string; major: string }>(
      `SELECT current_database() AS db, current_user AS role,
              current_setting('server_version_num')::int / 10000 AS major`
    )

    assert.deepEqual(rows[0], { db, role: db, major: 15 })
  })
}

test('postgres: a service role cannot connect to another service database', async () => {
  const client = new pg.Client({ connectionString: databaseUrl('orders', 'catalog') })
  await assert.rejects(client.connect(), /permission denied for database "orders"/)
})
