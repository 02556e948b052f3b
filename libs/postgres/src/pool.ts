import pg from 'pg'

export interface PoolOptions {
  connectionString: string
  /** Label in metrics and logs. */
  name?: string
  max?: number
  /** Server-side limit for every statement, so a stuck query can't hold a connection forever. */
  statementTimeoutMs?: number
  connectionTimeoutMs?: number
  idleTimeoutMs?: number
  applicationName?: string
  /** Called for errors of idle clients (a restarted server): they must not crash the process. */
  onIdleError?: (err: Error) => void
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? options.name ?? 'platform'
  })
  pool.on('error', options.onIdleError ?? (() => {}))
  // A client in use loses its connection too when the server restarts (every backend is
  // terminated). pg reports that as an 'error' event on the client, which nobody listens to while
  // it is checked out, and an unhandled 'error' event ends the process. Whoever uses the client
  // still gets the failure from its next query; the pool replaces the connection.
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}

/** A readiness check: one round trip, abandoned when `signal` aborts. */
export async function checkPostgres(pool: pg.Pool, signal?: AbortSignal): Promise<void> {
  const client = await pool.connect()
  let broken: Error | undefined
  const onAbort = () => {
    broken = new Error('aborted')
    client.release(broken) // destroys the connection so the query can't linger
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await client.query('SELECT 1')
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (!broken) client.release()
  }
}
