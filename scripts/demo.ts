// npm run demo: the main story against a running platform (npm run up, or docker compose up with
// EDGE_URL=http://localhost:8080 MAIL_URL=http://localhost:8025), each step printed as it happens:
// a token, the catalog, an order, its confirmation, the notification and the email.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { platform } from '@platform/testing'

const edge = process.env.EDGE_URL ?? platform.edge
const mail = process.env.MAIL_URL ?? platform.mail
const user = process.env.DEMO_USER ?? 'alice'
let step = 0

function show(title: string, detail: string): void {
  process.stdout.write(`\n${++step}. ${title}\n   ${detail.replaceAll('\n', '\n   ')}\n`)
}

async function call<T>(
  method: string,
  path: string,
  init: { token?: string; body?: unknown; headers?: Record<string, string> } = {}
) {
  const res = await fetch(`${edge}${path}`, {
    method,
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...init.headers
    },
    ...(init.body ? { body: JSON.stringify(init.body) } : {})
  }).catch((err: Error) => {
    throw new Error(`cannot reach the platform at ${edge} (${err.message}): start it with npm run up`)
  })
  const text = await res.text()
  if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`)
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T }
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await sleep(200)
  }
  throw new Error(`${what}: not within ${ms / 1000} s`)
}

interface Product {
  id: string
  name: string
  priceMinor: number
  currency: string
  stock: number
}
interface Order {
  id: string
  status: string
  totalMinor: number
  currency: string
  reason?: string
}
const money = (minor: number, currency: string) =>
  new Intl.NumberFormat('en', { style: 'currency', currency }).format(minor / 100)

const started = Date.now()
const login = await call<{ accessToken: string; expiresIn: number }>('POST', '/api/v1/auth/token', {
  body: { username: user, password: process.env.DEMO_PASSWORD ?? 'demo' }
})
const token = login.body.accessToken
show(
  `Sign in as ${user}`,
  `POST /api/v1/auth/token → a JWT valid ${login.body.expiresIn / 60} min (${token.slice(0, 24)}…)`
)

const page = await call<{ items: Product[] }>('GET', '/api/v1/products?limit=20&active=true&sort=price')
const inStock = page.body.items.filter((p) => p.stock >= 2)
const basket = inStock.filter((p) => p.currency === inStock[0]?.currency).slice(0, 2) // one currency per order
if (basket.length === 0) throw new Error('no product in stock: seed the catalog (npm run up does)')
show(
  'Browse the catalog (anonymous, micro-cached at the edge)',
  `GET /api/v1/products → ${page.body.items.length} products (edge cache: ${page.headers.get('x-cache-status')})\n` +
    basket.map((p) => `${p.name}: ${money(p.priceMinor, p.currency)}, ${p.stock} in stock`).join('\n')
)

const placed = await call<Order>('POST', '/api/v1/orders', {
  token,
  headers: { 'idempotency-key': randomUUID() },
  body: { lines: basket.map((p, i) => ({ productId: p.id, quantity: i + 1 })) }
})
const order = placed.body
show(
  'Place an order',
  `POST /api/v1/orders → ${placed.status} ${order.status}, total ${money(order.totalMinor, order.currency)}\n` +
    `Location: ${placed.headers.get('location')}`
)

const t0 = Date.now()
const settled = await until('the order settles', 30_000, async () => {
  const { body } = await call<Order>('GET', `/api/v1/orders/${order.id}`, { token })
  return body.status === 'PENDING' ? undefined : body
})
show(
  `Watch it become ${settled.status}`,
  `the catalog reserved the stock over Kafka (order.placed → stock.reserved → order.confirmed) in ${Date.now() - t0} ms` +
    (settled.reason ? `\nreason: ${settled.reason}` : '')
)

const notification = await until('the notification', 15_000, async () => {
  const { body } = await call<{
    items: Array<{ orderId: string; subject: string; email?: { status: string } }>
  }>('GET', '/api/v1/notifications?limit=20', { token })
  return body.items.find((n) => n.orderId === order.id)
})
show(
  'See the notification',
  `GET /api/v1/notifications → "${notification.subject}" (email ${notification.email?.status ?? 'none'})`
)

const email = await until('the email', 15_000, async () => {
  const res = await fetch(`${mail}/api/v1/messages`).catch(() => undefined)
  if (!res?.ok) return undefined
  const { messages } = (await res.json()) as {
    messages: Array<{ Subject: string; To: Array<{ Address: string }>; Snippet: string }>
  }
  return messages.find((m) => m.Subject === notification.subject)
})
show(
  'And the email in the SMTP sink',
  `to ${email.To.map((t) => t.Address).join(', ')}: "${email.Subject}"\n${email.Snippet.slice(0, 120)}…`
)

process.stdout.write(`\nThe whole story took ${((Date.now() - started) / 1000).toFixed(1)} s.\n`)
