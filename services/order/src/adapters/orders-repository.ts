import { AppError } from '@platform/errors'
import { withOutbox, type OutgoingMessage } from '@platform/messaging'
import type { Pool, PoolClient } from '@platform/postgres'
import type { Order, OrderStatus } from '../domain/order.ts'

/** Anything that runs a query: the pool, a checked-out client (a transaction), a plain client. */
type Db = Pick<Pool | PoolClient, 'query'>

interface OrderRow {
  id: string
  customer_id: string
  status: OrderStatus
  total_minor: string
  currency: string
  reason: string | null
  created_at: Date
  updated_at: Date
  lines: Array<{ productId: string; quantity: number; unitPriceMinor: number }>
}

const COLUMNS = `o.id, o.customer_id, o.status, o.total_minor, o.currency, o.reason, o.created_at, o.updated_at,
  (SELECT json_agg(json_build_object('productId', l.product_id, 'quantity', l.quantity, 'unitPriceMinor', l.unit_price_minor)
          ORDER BY l.line_no) FROM order_lines l WHERE l.order_id = o.id) AS lines`
const SELECT = `SELECT ${COLUMNS} FROM orders o`

export function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    lines: row.lines.map((l) => ({ ...l, unitPriceMinor: Number(l.unitPriceMinor) })),
    totalMinor: Number(row.total_minor),
    currency: row.currency,
    ...(row.reason ? { reason: row.reason } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

export interface StoredResponse {
  requestHash: string
  status: number
  body: Order
}

export async function findIdempotent(
  db: Db,
  customerId: string,
  key: string
): Promise<StoredResponse | undefined> {
  const { rows } = await db.query<{ request_hash: string; response_status: number; response_body: Order }>(
    `SELECT request_hash, response_status, response_body FROM idempotency_keys
      WHERE customer_id = $1 AND key = $2 AND created_at > now() - ${IDEMPOTENCY_TTL}`,
    [customerId, key]
  )
  const row = rows[0]
  return row && { requestHash: row.request_hash, status: row.response_status, body: row.response_body }
}

/**
 * The order, its lines, the idempotency record and its order.placed event in one statement: atomic
 * on its own (no BEGIN/COMMIT) and one round trip, since the pg client's cost is per statement.
 */
export async function insertOrder(
  db: Db,
  order: Order,
  idempotency: { key: string; requestHash: string },
  event: { id: string; message: OutgoingMessage }
): Promise<void> {
  await db
    .query(
      withOutbox(
        `o AS (
           INSERT INTO orders (id, customer_id, status, total_minor, currency, created_at, updated_at)
           VALUES ($1, $2, 'PENDING', $3, $4, $5, $5)),
         l AS (
           INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_minor)
           SELECT $1, n, p, q, u FROM unnest($6::uuid[], $7::int[], $8::bigint[]) WITH ORDINALITY AS x(p, q, u, n)),
         k AS (
           INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, response_status, response_body)
           VALUES ($2, $9, $10, $1, 201, $11))`,
        [
          order.id,
          order.customerId,
          order.totalMinor,
          order.currency,
          order.createdAt,
          order.lines.map((l) => l.productId),
          order.lines.map((l) => l.quantity),
          order.lines.map((l) => l.unitPriceMinor),
          idempotency.key,
          idempotency.requestHash,
          JSON.stringify(order)
        ],
        [event]
      )
    )
    .catch((err: { code?: string; constraint?: string }) => {
      if (err.code === '23505' && err.constraint === 'idempotency_keys_pkey') throw new IdempotencyRace()
      throw err
    })
}

/** How long an Idempotency-Key keeps its answer; after that the key may place a new order. */
export const IDEMPOTENCY_TTL = "interval '24 hours'"

/** Removes this caller's key if it has expired; true when there was one to remove. */
export async function forgetExpiredKey(db: Db, customerId: string, key: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `DELETE FROM idempotency_keys
      WHERE customer_id = $1 AND key = $2 AND created_at <= now() - ${IDEMPOTENCY_TTL}`,
    [customerId, key]
  )
  return (rowCount ?? 0) > 0
}

/** Retention: removes up to `limit` expired keys (oldest first); returns how many. */
export async function pruneIdempotencyKeys(db: Db, limit = 5000): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM idempotency_keys WHERE (customer_id, key) IN (
       SELECT customer_id, key FROM idempotency_keys
        WHERE created_at <= now() - ${IDEMPOTENCY_TTL} ORDER BY created_at LIMIT $1)`,
    [limit]
  )
  return rowCount ?? 0
}

/** Another request with the same Idempotency-Key committed first. */
export class IdempotencyRace extends Error {}

export async function findOrder(db: Db, id: string, customerId?: string): Promise<Order | undefined> {
  const { rows } = await db.query<OrderRow>(
    `${SELECT} WHERE o.id = $1 ${customerId === undefined ? '' : 'AND o.customer_id = $2'}`,
    customerId === undefined ? [id] : [id, customerId]
  )
  return rows[0] && toOrder(rows[0])
}

export async function listOrders(db: Db, customerId: string, limit: number, cursor?: string) {
  const params: unknown[] = [customerId, limit + 1]
  let after = ''
  if (cursor) {
    const [at, id] = decode(cursor)
    params.push(at, id)
    after = 'AND (o.created_at, o.id) < ($3::timestamptz, $4::uuid)'
  }
  const { rows } = await db.query<OrderRow>(
    `${SELECT} WHERE o.customer_id = $1 ${after} ORDER BY o.created_at DESC, o.id DESC LIMIT $2`,
    params
  )
  const items = rows.slice(0, limit).map(toOrder)
  const last = items.at(-1)
  return rows.length > limit && last
    ? { items, nextCursor: Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url') }
    : { items }
}

function decode(cursor: string): [string, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    // An ISO time and a UUID, as this service issued them.
    if (
      typeof at === 'string' &&
      !Number.isNaN(Date.parse(at)) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(id)
    )
      return [at, id]
  } catch {
    // fall through
  }
  throw new AppError(400, 'INVALID_CURSOR', 'the cursor is not valid for this query')
}

/** Moves an order from one of `from` to `to` and returns it (one statement); undefined when it was in none of them. */
export async function transition(
  client: PoolClient,
  id: string,
  from: OrderStatus[],
  to: OrderStatus,
  reason?: string
): Promise<Order | undefined> {
  return (await transitionAll(client, from, [{ id, to, ...(reason === undefined ? {} : { reason }) }]))[0]
}

/**
 * Several transitions in one statement: each order moves from one of `from` to its `to`. Returns
 * the orders that moved (in no particular order); an order named twice moves once, by the first.
 */
export async function transitionAll(
  client: PoolClient,
  from: OrderStatus[],
  moves: Array<{ id: string; to: OrderStatus; reason?: string }>
): Promise<Order[]> {
  const seen = new Set<string>()
  const first = moves.filter((m) => !seen.has(m.id.toLowerCase()) && seen.add(m.id.toLowerCase()))
  if (first.length === 0) return []
  const { rows } = await client.query<OrderRow>(
    `UPDATE orders o SET status = m.status, reason = COALESCE(m.reason, o.reason), updated_at = clock_timestamp()
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS m(id, status, reason)
      WHERE o.id = m.id AND o.status = ANY($4::text[])
      RETURNING ${COLUMNS}`,
    [first.map((m) => m.id), first.map((m) => m.to), first.map((m) => m.reason ?? null), from]
  )
  return rows.map(toOrder)
}

/** Locks up to `limit` PENDING orders older than `olderThanMs` that no other instance is sweeping. */
export async function claimExpired(
  client: PoolClient,
  olderThanMs: number,
  limit: number
): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    `SELECT id FROM orders WHERE status = 'PENDING' AND created_at < now() - make_interval(secs => $1 / 1000.0)
      ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [olderThanMs, limit]
  )
  return rows.map((r) => r.id)
}
