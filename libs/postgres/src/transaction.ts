import type pg from 'pg'

export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable'
}

/**
 * Runs `work` in one transaction on one client: COMMIT when it resolves, ROLLBACK when it throws
 * (the error is rethrown). A client whose rollback failed is destroyed, never returned to the pool.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {}
): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query(
      options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}` : 'BEGIN'
    )
    const result = await work(client)
    await client.query('COMMIT')
    client.release()
    return result
  } catch (err) {
    try {
      await client.query('ROLLBACK')
      client.release()
    } catch (rollbackError) {
      client.release(rollbackError as Error)
    }
    throw err
  }
}
