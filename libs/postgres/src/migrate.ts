import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type pg from 'pg'

export interface MigrateOptions {
  /** Folder of `NNNN_description.sql` files, applied in version order. */
  dir: string
  /** Table that records applied versions. */
  table?: string
  log?: (message: string) => void
}

export interface MigrationResult {
  applied: string[]
  current: string | undefined
}

export class MigrationError extends Error {
  override name = 'MigrationError'
}

/** One folder of migrations and the table recording it (a service's own, a lib's like messaging). */
export interface MigrationSet {
  dir: string
  table?: string
}

/** Applies several sets in order, each with its own history table; returns each set's result. */
export async function migrateAll(
  pool: pg.Pool,
  sets: MigrationSet[],
  log?: (message: string) => void
): Promise<Array<MigrationResult & { table: string }>> {
  const results = []
  for (const set of sets) {
    const result = await migrate(pool, { ...set, ...(log ? { log } : {}) })
    results.push({ ...result, table: set.table ?? 'schema_migrations' })
  }
  return results
}

const FILE = /^(\d{4,})_([a-z0-9_]+)\.sql$/ // 0001_create_products.sql
const LOCK_KEY = 7_215_040_731 // pg_advisory_lock key shared by every migrator of a database

/**
 * Applies the migrations in `dir` not yet recorded, each in its own transaction, under an advisory
 * lock so instances starting together don't race. An applied file whose content changed is an
 * error: migrations are append-only.
 */
export async function migrate(pool: pg.Pool, options: MigrateOptions): Promise<MigrationResult> {
  const table = options.table ?? 'schema_migrations'
  const log = options.log ?? (() => {})
  const files = await readMigrations(options.dir)
  const client = await pool.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         version text PRIMARY KEY,
         name text NOT NULL,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`
    )
    const { rows } = await client.query<{ version: string; checksum: string }>(
      `SELECT version, checksum FROM ${table}`
    )
    const done = new Map(rows.map((r) => [r.version, r.checksum]))
    const applied: string[] = []
    for (const m of files) {
      const recorded = done.get(m.version)
      if (recorded !== undefined) {
        if (recorded !== m.checksum)
          throw new MigrationError(`${m.file} changed after it was applied; add a new migration instead`)
        continue
      }
      try {
        await client.query('BEGIN')
        await client.query(m.sql)
        await client.query(`INSERT INTO ${table} (version, name, checksum) VALUES ($1, $2, $3)`, [
          m.version,
          m.name,
          m.checksum
        ])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK')
        throw new MigrationError(`${m.file} failed: ${(err as Error).message}`, { cause: err })
      }
      log(`applied ${m.file}`)
      applied.push(m.version)
    }
    return { applied, current: files.at(-1)?.version }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {})
    client.release()
  }
}

async function readMigrations(dir: string) {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort()
  const migrations = []
  for (const file of names) {
    const match = FILE.exec(file)
    if (!match) throw new MigrationError(`${file}: migration files are named NNNN_description.sql`)
    const sql = await readFile(join(dir, file), 'utf8')
    migrations.push({
      file,
      version: match[1]!,
      name: match[2]!,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex')
    })
  }
  const versions = migrations.map((m) => m.version)
  const dup = versions.find((v, i) => versions.indexOf(v) !== i)
  if (dup) throw new MigrationError(`two migrations share version ${dup}`)
  return migrations
}
