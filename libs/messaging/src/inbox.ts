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
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      'INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [consumer, eventId]
    )
    if (rowCount === 0) return false
    await apply(client)
    return true
  })
}
