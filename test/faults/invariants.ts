// What must hold after every fault scenario, checked against stored state (the services' databases,
// Consul), never against logs.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import pg from 'pg'
import { databaseUrl, platform, stack } from '@platform/testing'
import type { Placed, TrafficReport } from './traffic.ts'

const run = promisify(execFile)

export interface Invariant {
  name: string
  ok: boolean
  detail: string
}

const FINAL = new Set(['CONFIRMED', 'REJECTED', 'CANCELLED'])

async function query<T extends pg.QueryResultRow>(
  db: 'catalog' | 'orders' | 'notifications',
  sql: string,
  params: unknown[] = []
): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl(db, 'postgres') })
  await client.connect()
  try {
    return (await client.query<T>(sql, params)).rows
  } finally {
    await client.end()
  }
}

interface State {
  orders: Map<string, string>
  reservations: Map<string, { status: string; lines: Array<{ productId: string; quantity: number }> }>
  stock: Map<string, { stock: number; reserved: number }>
  outbox: { catalog: number; orders: number }
  notified: Map<string, Set<string>>
  emailsUnsent: number
}

async function readState(placed: Placed[], products: string[]): Promise<State> {
  const ids = placed.map((p) => p.id)
  const [orders, reservations, stock, catalogOutbox, ordersOutbox, notified, unsent] = await Promise.all([
    query<{ id: string; status: string }>(
      'orders',
      'SELECT id, status FROM orders WHERE id = ANY($1::uuid[])',
      [ids]
    ),
    query<{ order_id: string; status: string; lines: Array<{ productId: string; quantity: number }> }>(
      'catalog',
      'SELECT order_id, status, lines FROM reservations WHERE order_id = ANY($1::uuid[])',
      [ids]
    ),
    // Stock and what every reservation of the run holds (the products are the run's own, so this
    // counts every scenario's orders, not only this one's).
    query<{ id: string; stock: number; reserved: number }>(
      'catalog',
      `SELECT p.id, p.stock, coalesce((
         SELECT sum((l->>'quantity')::int) FROM reservations r, jsonb_array_elements(r.lines) l
          WHERE r.status = 'reserved' AND l->>'productId' = p.id::text), 0)::int AS reserved
         FROM products p WHERE p.id = ANY($1::uuid[])`,
      [products]
    ),
    query<{ n: number }>('catalog', 'SELECT count(*)::int AS n FROM outbox'),
    query<{ n: number }>('orders', 'SELECT count(*)::int AS n FROM outbox'),
    query<{ order_id: string; kind: string }>(
      'notifications',
      'SELECT order_id, kind FROM notifications WHERE order_id = ANY($1::uuid[])',
      [ids]
    ),
    query<{ n: number }>(
      'notifications',
      `SELECT count(*)::int AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id
        WHERE n.order_id = ANY($1::uuid[]) AND d.status <> 'sent'`,
      [ids]
    )
  ])
  const kinds = new Map<string, Set<string>>()
  for (const n of notified) kinds.set(n.order_id, (kinds.get(n.order_id) ?? new Set()).add(n.kind))
  return {
    orders: new Map(orders.map((o) => [o.id, o.status])),
    reservations: new Map(reservations.map((r) => [r.order_id, { status: r.status, lines: r.lines }])),
    stock: new Map(stock.map((s) => [s.id, { stock: s.stock, reserved: s.reserved }])),
    outbox: { catalog: catalogOutbox[0]!.n, orders: ordersOutbox[0]!.n },
    notified: kinds,
    emailsUnsent: unsent[0]!.n
  }
}

/** Everything the platform owes once quiet: orders decided, stock settled, outboxes drained, emails sent. */
function settled(state: State, placed: Placed[]): boolean {
  return (
    placed.every((p) => FINAL.has(state.orders.get(p.id) ?? '')) &&
    placed.every((p) => {
      const status = state.orders.get(p.id)
      const reservation = state.reservations.get(p.id)?.status
      return status === 'CONFIRMED' ? reservation === 'reserved' : reservation !== 'reserved'
    }) &&
    placed.every((p) => state.notified.get(p.id)?.has(`order.${state.orders.get(p.id)?.toLowerCase()}`)) &&
    state.outbox.catalog === 0 &&
    state.outbox.orders === 0 &&
    state.emailsUnsent === 0
  )
}

/**
 * Waits (bounded) for the platform to settle by itself — the state above, and every instance back
 * in Consul — and returns how long it took, or undefined.
 */
export async function waitSettled(
  placed: Placed[],
  products: string[],
  instances: Record<string, number>,
  ms: number
): Promise<number | undefined> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    const state = await readState(placed, products).catch(() => undefined)
    const unregistered = await registrations(instances).catch(() => ['Consul not answering'])
    if (state && settled(state, placed) && unregistered.length === 0) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return undefined
}

export async function checkInvariants(
  report: TrafficReport,
  initialStock: Map<string, number>,
  instances: Record<string, number>
): Promise<Invariant[]> {
  const products = [...initialStock.keys()]
  const state = await readState(report.placed, products)
  const results: Invariant[] = []
  const check = (name: string, failures: string[], detail = '') =>
    results.push({
      name,
      ok: failures.length === 0,
      detail: failures.length ? failures.slice(0, 5).join('; ') : detail
    })

  const undecided = report.placed.filter((p) => !FINAL.has(state.orders.get(p.id) ?? ''))
  check(
    'every accepted order reached a final state',
    undecided.length === 0
      ? []
      : [
          `${undecided.length} not: ${undecided
            .slice(0, 3)
            .map(
              (p) =>
                `${p.id} ${state.orders.get(p.id)} (reservation ${state.reservations.get(p.id)?.status ?? 'none'})`
            )
            .join(', ')}`,
          `consumers: ${await consumers()}`
        ],
    `${report.placed.length} orders`
  )
  check(
    'confirmed ⇔ stock reserved; rejected or cancelled ⇒ nothing reserved',
    report.placed.flatMap((p) => {
      const status = state.orders.get(p.id)
      const reservation = state.reservations.get(p.id)?.status ?? 'none'
      const ok = status === 'CONFIRMED' ? reservation === 'reserved' : reservation !== 'reserved'
      return ok ? [] : [`${p.id} ${status} with reservation ${reservation}`]
    })
  )
  check(
    'stock never negative, and stock + reserved = initial for every product',
    products.flatMap((id) => {
      const { stock, reserved } = state.stock.get(id) ?? { stock: -1, reserved: 0 }
      return stock >= 0 && stock + reserved === initialStock.get(id)
        ? []
        : [`${id}: ${stock} + ${reserved} ≠ ${initialStock.get(id)}`]
    })
  )
  check('one notification for each final state, and its email sent', [
    ...report.placed.flatMap((p) => {
      const kind = `order.${state.orders.get(p.id)?.toLowerCase()}`
      return state.notified.get(p.id)?.has(kind) ? [] : [`${p.id}: no ${kind} notification`]
    }),
    ...(state.emailsUnsent ? [`${state.emailsUnsent} emails not sent`] : [])
  ])
  check('the outboxes drained', [
    ...(state.outbox.catalog ? [`catalog: ${state.outbox.catalog} rows`] : []),
    ...(state.outbox.orders ? [`orders: ${state.outbox.orders} rows`] : [])
  ])
  check(
    'every request answered (within 15 s): none left hanging or cut off',
    report.byStatus['no answer'] ? [`${report.byStatus['no answer']} without an answer`] : [],
    `${report.sent} requests`
  )
  check(
    'no 5xx but 503',
    report.unexpected.map((u) => `${u.status} ${u.path} ${u.body}`),
    `${report.sent} requests`
  )
  check(
    'every process running and ready, every service registered and passing in Consul',
    await platformHealthy(instances)
  )
  return results
}

/**
 * Where the events wait, for a failure's message: each instance's consumer lag above zero and its
 * replaced consumers, read from its /metrics (found through Consul).
 */
async function consumers(): Promise<string> {
  const parts: string[] = []
  for (const name of ['catalog', 'order', 'notification']) {
    try {
      const res = await fetch(`${stack.consul.url}/v1/health/service/${name}`)
      const entries = (await res.json()) as Array<{ Service: { Address: string; Port: number } }>
      for (const { Service } of entries) {
        const text = await (await fetch(`http://${Service.Address}:${Service.Port}/metrics`)).text()
        const lines = text
          .split('\n')
          .filter(
            (l) =>
              (l.startsWith('kafka_consumer_lag_messages{') && !l.endsWith(' 0')) ||
              l.startsWith('kafka_consumer_replaced_total{')
          )
        parts.push(`${name}@${Service.Port}: ${lines.join(' ') || 'no lag'}`)
      }
    } catch (err) {
      parts.push(`${name}: ${(err as Error).message}`)
    }
  }
  return parts.join(' | ')
}

async function platformHealthy(instances: Record<string, number>): Promise<string[]> {
  const failures: string[] = []
  await run('bash', [platform.script, 'status']).catch((err: { stderr?: string }) =>
    failures.push(`platform.sh status: ${(err.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`)
  )
  return [...failures, ...(await registrations(instances))]
}

async function registrations(instances: Record<string, number>): Promise<string[]> {
  const failures: string[] = []
  for (const [name, expected] of Object.entries(instances)) {
    const res = await fetch(`${stack.consul.url}/v1/health/service/${name}?passing=true`)
    const passing = (await res.json()) as unknown[]
    if (passing.length < expected)
      failures.push(`${name}: ${passing.length} of ${expected} passing in Consul`)
  }
  return failures
}
