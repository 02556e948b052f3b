import type { PoolClient } from '@platform/postgres'
import {
  decideReservations,
  type PlacedOrder,
  type ReservationDecision,
  type StockRow,
  type WantedLine
} from '../domain/reserve.ts'

/**
 * Reserves every line of each order, or none of it, in the orders' sequence, inside the caller's
 * transaction, with a fixed number of statements however many orders (existing reservations, the
 * products, one stock update, one insert). Product rows are locked in id order (so concurrent
 * reservations can't deadlock) before stock is read, so two orders for the last unit serialize:
 * one gets it, the other is rejected. An order that already has a reservation (a redelivered
 * event), or comes twice, gets no decision (undefined).
 */
export async function reserveStockForAll(
  client: PoolClient,
  orders: PlacedOrder[]
): Promise<Array<ReservationDecision | undefined>> {
  const { rows: existing } = await client.query<{ order_id: string }>(
    'SELECT order_id FROM reservations WHERE order_id = ANY($1::uuid[])',
    [orders.map((o) => o.orderId)]
  )
  const ids = [...new Set(orders.flatMap((o) => o.lines.map((l) => l.productId)))].sort()
  const { rows } = await client.query<StockRow>(
    'SELECT id, stock, active FROM products WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
    [ids]
  )
  const { decisions, taken } = decideReservations(orders, rows, new Set(existing.map((r) => r.order_id)))
  if (taken.size > 0) {
    await client.query(
      `UPDATE products p SET stock = p.stock - l.quantity, version = p.version + 1, updated_at = now()
         FROM unnest($1::uuid[], $2::int[]) AS l(product_id, quantity) WHERE p.id = l.product_id`,
      [[...taken.keys()], [...taken.values()]]
    )
  }
  const decided = orders.flatMap((order, i) => {
    const decision = decisions[i]
    return decision ? [{ order, decision }] : []
  })
  if (decided.length > 0) {
    await client.query(
      `INSERT INTO reservations (order_id, status, lines, reason)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[])`,
      [
        decided.map((d) => d.order.orderId),
        decided.map((d) => (d.decision.ok ? 'reserved' : 'rejected')),
        decided.map((d) => JSON.stringify(d.decision.ok ? d.decision.lines : d.order.lines)),
        decided.map((d) => (d.decision.ok ? null : d.decision.reason))
      ]
    )
  }
  return decisions
}

/**
 * Locks, in id order, every product that a batch of order events may change: the lines of placed
 * orders and of the reservations that cancelled or rejected ones release.
 */
export async function lockProductsOf(
  client: PoolClient,
  events: Array<{ type: string; data: unknown }>
): Promise<void> {
  const ids = new Set<string>()
  const releasing: string[] = []
  for (const { type, data } of events) {
    if (type === 'order.placed') for (const l of (data as { lines: WantedLine[] }).lines) ids.add(l.productId)
    else releasing.push((data as { orderId: string }).orderId)
  }
  if (releasing.length > 0) {
    const { rows } = await client.query<{ product_id: string }>(
      `SELECT DISTINCT l->>'productId' AS product_id FROM reservations r, jsonb_array_elements(r.lines) l
        WHERE r.order_id = ANY($1::uuid[]) AND r.status = 'reserved'`,
      [releasing]
    )
    for (const r of rows) ids.add(r.product_id)
  }
  if (ids.size === 0) return
  await client.query('SELECT 1 FROM products WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [[...ids]])
}

/**
 * Gives a reserved order's stock back (cancelled, rejected or expired). Returns the products whose
 * stock changed; nothing when the order holds no reservation (rejected, already released, unknown).
 */
export async function releaseStock(client: PoolClient, orderId: string): Promise<string[]> {
  const { rows } = await client.query<{ lines: WantedLine[] }>(
    `UPDATE reservations SET status = 'released', updated_at = now()
      WHERE order_id = $1 AND status = 'reserved' RETURNING lines`,
    [orderId]
  )
  const lines = rows[0]?.lines
  if (!lines) return []
  await client.query(
    `UPDATE products p SET stock = p.stock + l.quantity, version = p.version + 1, updated_at = now()
       FROM unnest($1::uuid[], $2::int[]) AS l(product_id, quantity) WHERE p.id = l.product_id`,
    [lines.map((l) => l.productId), lines.map((l) => l.quantity)]
  )
  return lines.map((l) => l.productId)
}
