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

/** A placed order as the catalog sees it. */
export interface PlacedOrder {
  orderId: string
  lines: WantedLine[]
}

/**
 * Decides a run of placed orders in their sequence against the stock they see: each all or
 * nothing ({@link decideReservation}), each taking from what the ones before it left, so two orders
 * for the last unit can't both get it. An order decided before (a redelivered event, or the same
 * order twice in the run) gets no decision (undefined). `taken` is what the run takes per product.
 */
export function decideReservations(
  orders: PlacedOrder[],
  stock: StockRow[],
  decidedBefore: ReadonlySet<string>
): { decisions: Array<ReservationDecision | undefined>; taken: Map<string, number> } {
  const left = new Map(stock.map((r) => [r.id, { ...r }]))
  const seen = new Set([...decidedBefore].map((id) => id.toLowerCase()))
  const taken = new Map<string, number>()
  const decisions = orders.map((order) => {
    const id = order.orderId.toLowerCase()
    if (seen.has(id)) return undefined
    seen.add(id)
    const decision = decideReservation(
      order.lines,
      order.lines.flatMap((l) => left.get(l.productId) ?? [])
    )
    if (decision.ok)
      for (const l of decision.lines) {
        left.get(l.productId)!.stock -= l.quantity
        taken.set(l.productId, (taken.get(l.productId) ?? 0) + l.quantity)
      }
    return decision
  })
  return { decisions, taken }
}
