// npm run migrate: applies the order service's migrations and the messaging tables, then exits.
import Type from 'typebox'
import { readConfig } from '@platform/config'
import { orExit } from './startup.ts'
import { createPool, migrateAll } from '@platform/postgres'
import { migrationSets } from './app.ts'

const config = await orExit('configuration', () =>
  readConfig(Type.Object({ DATABASE_URL: Type.String({ minLength: 1 }) }), process.env)
)
const pool = createPool({ connectionString: config.DATABASE_URL, name: 'order-migrate' })
await orExit('migrate', async () => {
  try {
    for (const { table, applied, current } of await migrateAll(pool, migrationSets, (m) => console.log(m)))
      console.log(`${table}: ${applied.length} applied, at ${current ?? 'none'}`)
  } finally {
    await pool.end()
  }
})
