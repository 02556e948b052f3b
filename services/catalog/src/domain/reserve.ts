/** One line of an order, as the order service placed it. */
export interface WantedLine {
  productId: string
  quantity: number
}

export interface StockRow {
  id: string
  stock: number
  active: boolean
}

export type ReservationDecision =
  | { ok: true; lines: WantedLine[] }
  | {
      ok: false
      reason: string
      unavailable: Array<{ productId: string; requested: number; available: number }>
    }

/**
 * All or nothing: every line must name an active product with enough stock, or the whole order is
 * rejected, naming each line that can't be served. Quantities of repeated products add up.
 */
export function decideReservation(wanted: WantedLine[], rows: StockRow[]): ReservationDecision {
  const byId = new Map(rows.map((r) => [r.id, r]))
  const totals = new Map<string, number>()
  for (const line of wanted) totals.set(line.productId, (totals.get(line.productId) ?? 0) + line.quantity)
  const unavailable = []
  for (const [productId, requested] of totals) {
    const row = byId.get(productId)
    const available = row && row.active ? row.stock : 0
    if (available < requested) unavailable.push({ productId, requested, available })
  }
  if (unavailable.length === 0)
    return { ok: true, lines: [...totals].map(([productId, quantity]) => ({ productId, quantity })) }
  const reason = unavailable.every((u) => !byId.get(u.productId)?.active)
    ? 'products not available'
    : 'insufficient stock'
  return { ok: false, reason, unavailable }
}
