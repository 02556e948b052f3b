import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { databaseUrl } from '@platform/testing'

/**
 * A throwaway schema in the catalog database, and a connection string whose search_path points
 * at it, so tests share the real server without seeing each other's tables.
 */
export async function scratchSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `test_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = new pg.Client({ connectionString: databaseUrl('catalog') })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.end()
  const url = `${databaseUrl('catalog')}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: databaseUrl('catalog') })
      await c.connect()
      await c.query(`DROP SCHEMA ${schema} CASCADE`)
      await c.end()
    }
  }
}
