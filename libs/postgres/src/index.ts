export { checkPostgres, createPool, type PoolOptions } from './pool.ts'
export { withTransaction, type TransactionOptions } from './transaction.ts'
export {
  migrate,
  migrateAll,
  MigrationError,
  type MigrateOptions,
  type MigrationResult,
  type MigrationSet
} from './migrate.ts'
export { postgres, type PostgresPluginOptions } from './plugin.ts'
export type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'
