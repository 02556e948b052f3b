import { fileURLToPath } from 'node:url'
import { outboxMetrics, type Metrics } from '@platform/metrics'
import type { Pool, PoolClient, QueryResult } from '@platform/postgres'
import type { MessageBus, OutgoingMessage } from './bus.ts'

/** The folder of this lib's migrations (outbox and inbox tables); apply them with their own history table. */
export const messagingMigrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))

/** Committing an outbox row wakes the relays listening on this channel. */
export const OUTBOX_CHANNEL = 'outbox'

/**
 * Writes `message` to the outbox inside the caller's transaction (`client` from withTransaction):
 * it is published if and only if the transaction commits. One statement, which also notifies the
 * relay (NOTIFY is delivered at commit).
 */
export async function enqueue(client: PoolClient, id: string, message: OutgoingMessage): Promise<void> {
  await enqueueAll(client, [{ id, message }])
}

/**
 * Writes several messages to the outbox inside the caller's transaction, in order, with one
 * statement (and one notification to the relay).
 */
export async function enqueueAll(
  client: PoolClient,
  messages: Array<{ id: string; message: OutgoingMessage }>
): Promise<void> {
  if (messages.length === 0) return
  await client.query(withOutbox('', [], messages))
}

/**
 * A service's own data-modifying statement and its events' outbox rows as one statement: atomic
 * without BEGIN/COMMIT, one round trip. `ctes` are the service's common table expressions
 * (`o AS (INSERT …), l AS (INSERT …)`) using `$1…$n` for `values`; the outbox insert is added with
 * its placeholders after them (in the given order: `seq` follows it), and the statement ends by
 * waking the relay. Pass it to `query()`. Without `ctes`, the events alone.
 */
export function withOutbox(
  ctes: string,
  values: unknown[],
  events: Array<{ id: string; message: OutgoingMessage }>
): { text: string; values: unknown[] } {
  const $ = (i: number) => `$${values.length + i}`
  return {
    text: `WITH ${ctes ? `${ctes},` : ''}
       outbox_rows AS (
         INSERT INTO outbox (id, topic, key, value, headers)
         SELECT id, topic, key, value, headers
           FROM unnest(${$(1)}::uuid[], ${$(2)}::text[], ${$(3)}::text[], ${$(4)}::text[], ${$(5)}::jsonb[])
                WITH ORDINALITY AS m(id, topic, key, value, headers, n)
          ORDER BY n)
     SELECT pg_notify('${OUTBOX_CHANNEL}', '')`,
    values: [
      ...values,
      events.map((e) => e.id),
      events.map((e) => e.message.topic),
      events.map((e) => e.message.key),
      events.map((e) => e.message.value),
      events.map((e) => JSON.stringify(e.message.headers))
    ]
  }
}

export interface OutboxRelayOptions {
  pool: Pool
  bus: Pick<MessageBus, 'publish'>
  metrics: Metrics
  batchSize?: number
  /** Fallback poll when no notification arrives (another writer, a lost LISTEN). Default 1000 ms. */
  pollIntervalMs?: number
  /** Pause after a failed batch. Default 1000 ms. */
  retryDelayMs?: number
  onError?: (err: Error) => void
}

export interface OutboxRelay {
  start(): Promise<void>
  /** Finishes the batch in hand, then stops. */
  stop(): Promise<void>
  /** Publishes what is committed now (tests, shutdown flush). Returns how many rows it published. */
  drain(): Promise<number>
}

// pg_try_advisory_xact_lock key: one relay at a time publishes, so rows go out once and in order.
const RELAY_LOCK = 7_215_040_732

/**
 * Publishes committed outbox rows in `seq` order, at least once: a batch is read, published and
 * deleted inside one transaction that holds an advisory lock. Two relays never publish the same
 * row; a relay that dies mid-batch rolls back and the rows go out again with the next one.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, bus } = options
  const batchSize = options.batchSize ?? 100
  const metrics = outboxMetrics(options.metrics.registry)
  const onError = options.onError ?? (() => {})
  let running = false
  let listener: PoolClient | undefined
  let reconnect: NodeJS.Timeout | undefined
  // A row committed while a drain runs (after its last SELECT) notifies while nobody waits: the
  // signal keeps it, or the relay would sleep a whole poll interval with that row in the outbox
  // (it did: ~1 s on half the saga's events under load).
  const signal = wakeSignal()
  let loop: Promise<void> | undefined

  // A batch is two round trips to Postgres around the publish: the pg client's cost is per
  // statement (socket writes), and under load the relay runs once per few events. Several
  // statements go in one simple-protocol query, so values are inlined: constants and seq numbers.
  const readSql =
    `BEGIN; SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS ok;` +
    ` SELECT seq, topic, key, value, headers FROM outbox ORDER BY seq LIMIT ${Number(batchSize)}`
  const countSql =
    'SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS age FROM outbox'

  async function publishBatch(): Promise<number | 'locked'> {
    const client = await pool.connect()
    let failed: Error | undefined
    try {
      const [, lock, read] = (await client.query(readSql)) as unknown as [
        QueryResult,
        QueryResult<{ ok: boolean }>,
        QueryResult<{
          seq: string
          topic: string
          key: string
          value: string
          headers: Record<string, string>
        }>
      ]
      if (!lock.rows[0]?.ok) {
        await client.query('ROLLBACK')
        return 'locked'
      }
      const rows = read.rows
      if (rows.length > 0) {
        await bus.publish(rows.map(({ topic, key, value, headers }) => ({ topic, key, value, headers })))
      }
      const seqs = rows.map((r) => {
        if (!/^\d+$/.test(r.seq)) throw new Error(`unexpected outbox seq ${r.seq}`)
        return r.seq
      })
      // A short batch read everything committed: nothing is waiting. Only after a full one is
      // the backlog counted (a count over a busy outbox costs as much as the rest of the batch).
      const full = rows.length >= batchSize
      const results = (await client.query(
        (seqs.length > 0 ? `DELETE FROM outbox WHERE seq IN (${seqs.join(',')}); ` : '') +
          (full ? `${countSql}; ` : '') +
          'COMMIT'
      )) as unknown as QueryResult | QueryResult[]
      const backlog = full
        ? ((results as QueryResult<{ n: number; age: number | null }>[]).at(-2)!.rows[0] ?? { n: 0, age: 0 })
        : { n: 0, age: 0 }
      metrics.published.inc(rows.length)
      metrics.backlog.set(backlog.n)
      metrics.oldestAge.set(backlog.age ?? 0)
      return rows.length
    } catch (err) {
      failed = err as Error
      await client.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      // After a failure the connection may be gone (a restarted server): it is not reused.
      client.release(failed)
    }
  }

  // While batches fail (Kafka away) the gauges must keep moving, or the alert on the outbox's age
  // could never fire during the very outage it is there for.
  async function recount(): Promise<void> {
    try {
      const { rows } = await pool.query<{ n: number; age: number | null }>(countSql)
      metrics.backlog.set(rows[0]?.n ?? 0)
      metrics.oldestAge.set(rows[0]?.age ?? 0)
    } catch {
      // the database is away too: the next failed round counts again
    }
  }

  async function drain(): Promise<number> {
    let total = 0
    for (;;) {
      const n = await publishBatch()
      if (n === 'locked' || n === 0) return total
      total += n
    }
  }

  async function run(): Promise<void> {
    while (running) {
      let delay = options.pollIntervalMs ?? 1000
      signal.reset()
      try {
        await drain()
      } catch (err) {
        onError(err as Error)
        delay = options.retryDelayMs ?? 1000
        await recount()
        signal.reset()
      }
      if (!running) break
      await signal.wait(delay)
    }
  }

  // One connection LISTENs for commits. When it is lost (a restarted server), the relay keeps
  // polling and listens again on a new connection, then drains what was committed meanwhile.
  async function listen(): Promise<void> {
    const client = await pool.connect()
    client.on('notification', () => signal.notify())
    client.on('error', (err) => {
      onError(err)
      if (listener !== client) return
      listener = undefined
      client.release(err)
      relisten()
    })
    try {
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`)
    } catch (err) {
      client.release(err as Error)
      throw err
    }
    listener = client
  }

  function relisten(): void {
    if (!running) return
    reconnect = setTimeout(() => {
      listen().then(
        () => signal.notify(),
        (err: Error) => {
          onError(err)
          relisten()
        }
      )
    }, options.retryDelayMs ?? 1000)
  }

  return {
    async start() {
      if (running) return
      running = true
      await listen()
      loop = run()
    },
    async stop() {
      running = false
      clearTimeout(reconnect)
      signal.notify()
      await loop
      if (listener) {
        await listener.query(`UNLISTEN ${OUTBOX_CHANNEL}`).catch(() => {})
        listener.release()
        listener = undefined
      }
    },
    drain
  }
}

export interface WakeSignal {
  /** Ends the current wait, or the next one if nobody waits now. */
  notify(): void
  /** Forgets notifications so far: only later ones end the next wait. */
  reset(): void
  /** Resolves after `ms`, or at once when notified since the last reset. */
  wait(ms: number): Promise<void>
}

/** A wake-up that is kept when it comes before anyone waits (unlike a bare resolve callback). */
export function wakeSignal(): WakeSignal {
  let pending = false
  let wake: (() => void) | undefined
  return {
    notify() {
      pending = true
      wake?.()
    },
    reset() {
      pending = false
    },
    wait(ms) {
      if (pending) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms)
        wake = done
        function done() {
          clearTimeout(timer)
          wake = undefined
          resolve()
        }
      })
    }
  }
}
