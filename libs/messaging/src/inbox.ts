import { withTransaction, type Pool, type PoolClient } from '@platform/postgres'

/**
 * Applies an event's effect once per consumer: the event id is recorded in the inbox in the same
 * transaction as `apply`'s writes, so a redelivered or duplicated event changes nothing.
 * Returns false when the event had already been applied.
 */
export async function handleOnce(
  pool: Pool,
  consumer: string,
  eventId: string,
  apply: (client: PoolClient) => Promise<void>
): Promise<boolean> {
  const applied = await handleBatchOnce(pool, consumer, [{ envelope: { id: eventId } }], (client) =>
    apply(client)
  )
  return applied.length === 1
}

/**
 * Applies a batch of events, each once per consumer, in one transaction: their ids go into the
 * inbox in one statement, then `apply` gets those not seen before, in order (an id twice in the
 * batch counts once), to apply them as it likes (set-based statements, one commit for all).
 * Should anything throw, nothing of the batch is written: the consumer then handles its events one
 * by one (`handleOnce`). Returns the events applied now.
 */
export async function handleBatchOnce<E extends { envelope: { id: string } }>(
  pool: Pool,
  consumer: string,
  events: E[],
  apply: (client: PoolClient, fresh: E[]) => Promise<void>
): Promise<E[]> {
  if (events.length === 0) return []
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ event_id: string }>(
      `INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])
         ON CONFLICT DO NOTHING RETURNING event_id`,
      [consumer, events.map((e) => e.envelope.id)]
    )
    const fresh = new Set(rows.map((r) => r.event_id))
    // Postgres answers uuids in lower case.
    const applied = events.filter((e) => fresh.delete(e.envelope.id.toLowerCase()))
    if (applied.length > 0) await apply(client, applied)
    return applied
  })
}

/**
 * Retention: removes up to `limit` inbox rows recorded more than `olderThanDays` days ago, oldest
 * first, and returns how many. An id only has to outlive every redelivery of its event: Kafka keeps
 * a topic's events 7 days by default, so the default keeps ids twice that.
 */
export async function pruneInbox(pool: Pool, olderThanDays = 14, limit = 5000): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM inbox WHERE (consumer, event_id) IN (
       SELECT consumer, event_id FROM inbox
        WHERE processed_at < now() - make_interval(days => $1) ORDER BY processed_at LIMIT $2)`,
    [olderThanDays, limit]
  )
  return rowCount ?? 0
}
