// The traffic a fault scenario runs under, through the edge as real clients send it: anonymous
// browsing, signed-in customers placing orders with an Idempotency-Key (retried with the same key
// after a 429 or 503, as the API asks) and cancelling some, and customers holding notification
// streams. Open loop: requests leave on schedule whether earlier ones have answered or not.
// Each anonymous reader and each customer connects from an address of its own on the loopback
// network (127.0.1.x), as distinct clients would: the edge and the gateway limit per address.
import { randomUUID } from 'node:crypto'
import type { JWK } from 'jose'
import { Agent, buildConnector, fetch, type RequestInit } from 'undici'
import { signToken } from '../support/story.ts'

export interface TrafficOptions {
  edge: string
  jwk: JWK
  /** Products the orders draw from (created for the scenario run, with known stock). */
  products: string[]
  customers: string[]
  browsePerSecond?: number
  ordersPerSecond?: number
  streams?: number
}

export interface Placed {
  id: string
  customer: string
  productId: string
  quantity: number
}

export interface TrafficReport {
  sent: number
  byStatus: Record<string, number>
  /** Answers of 500 and above other than 503 (a 503 says "later", with Retry-After). */
  unexpected: Array<{ path: string; status: number; body: string }>
  /** 429 and 503 answers by status, error code and route (what was refused or unavailable, where). */
  refused: Record<string, number>
  /** Orders the API accepted (201): each must reach a final state. */
  placed: Placed[]
  /** Orders whose placement never got an answer other than 429/503 within its retries. */
  abandoned: number
  streamsOpened: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function startTraffic(options: TrafficOptions): { stop(): Promise<TrafficReport> } {
  const report: TrafficReport = {
    sent: 0,
    byStatus: {},
    unexpected: [],
    refused: {},
    placed: [],
    abandoned: 0,
    streamsOpened: 0
  }
  const inFlight = new Set<Promise<unknown>>()
  const abort = new AbortController()
  let running = true
  const tokens = new Map<string, Promise<string>>()
  const tokenOf = (customer: string) => {
    let token = tokens.get(customer)
    if (!token) {
      token = signToken(options.jwk, { sub: customer, exp: Math.floor(Date.now() / 1000) + 3600 })
      tokens.set(customer, token)
    }
    return token
  }
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!
  // The local address goes to each connection's options: undici's Agent ignores it as an option
  // of its own (the edge then saw every client as 127.0.0.1).
  const connector = buildConnector({})
  const clients = Array.from(
    { length: 32 },
    (_, i) =>
      new Agent({
        connect: (opts, callback) => connector({ ...opts, localAddress: `127.0.1.${i + 1}` }, callback),
        keepAliveTimeout: 10_000
      })
  )
  const clientOf = (customer: string | undefined) =>
    customer
      ? clients[[...customer].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % clients.length, 0)]!
      : pick(clients)

  async function call(path: string, init: RequestInit & { customer?: string } = {}) {
    const { customer, ...rest } = init
    const headers: Record<string, string> = { ...(rest.headers as Record<string, string> | undefined) }
    if (customer) headers.authorization = `Bearer ${await tokenOf(customer)}`
    if (rest.body) headers['content-type'] = 'application/json'
    report.sent++
    let status = 0
    let body = ''
    let retryAfter = 1
    try {
      const res = await fetch(`${options.edge}${path}`, {
        ...rest,
        headers,
        dispatcher: clientOf(customer),
        signal: AbortSignal.timeout(15_000)
      })
      status = res.status
      body = await res.text()
      retryAfter = Number(res.headers.get('retry-after') ?? 1) || 1
    } catch (err) {
      body = (err as Error).message
    }
    const key = status === 0 ? 'no answer' : String(status)
    report.byStatus[key] = (report.byStatus[key] ?? 0) + 1
    if (status >= 500 && status !== 503) report.unexpected.push({ path, status, body: body.slice(0, 300) })
    if (status === 503 || status === 429) {
      const code = /"code":"([A-Z_]+)"/.exec(body)?.[1] ?? '?'
      const route = path.replace(/[0-9a-f-]{36}/g, ':id').replace(/\?.*/, '')
      const what = `${status} ${code} ${rest.method ?? 'GET'} ${route}`
      report.refused[what] = (report.refused[what] ?? 0) + 1
    }
    return { status, body, retryAfter }
  }

  // One schedule: `perSecond` starts of `job` a second, each tracked until it ends.
  function every(perSecond: number, job: () => Promise<unknown>) {
    const timer = setInterval(() => {
      if (!running) return
      const p = job().catch(() => undefined)
      inFlight.add(p)
      void p.finally(() => inFlight.delete(p))
    }, 1000 / perSecond)
    return timer
  }

  async function browse() {
    if (Math.random() < 0.5) await call(`/api/v1/products?limit=5&q=${randomUUID().slice(0, 3)}`)
    else await call(`/api/v1/products/${pick(options.products)}`)
  }

  async function order() {
    const customer = pick(options.customers)
    const productId = pick(options.products)
    const quantity = 1 + Math.floor(Math.random() * 3)
    const key = randomUUID()
    const body = JSON.stringify({ lines: [{ productId, quantity }] })
    // The same key until the API decides: at most 20 tries, honouring Retry-After (capped at 5 s).
    for (let attempt = 0; attempt < 20; attempt++) {
      const res = await call('/api/v1/orders', {
        method: 'POST',
        customer,
        body,
        headers: { 'idempotency-key': key }
      })
      if (res.status === 201 || res.status === 200) {
        const placed = { id: (JSON.parse(res.body) as { id: string }).id, customer, productId, quantity }
        if (!report.placed.some((p) => p.id === placed.id)) report.placed.push(placed)
        if (Math.random() < 0.2) {
          await sleep(500)
          await call(`/api/v1/orders/${placed.id}/cancel`, { method: 'POST', customer })
        }
        return
      }
      if (res.status !== 429 && res.status !== 503 && res.status !== 0) return
      if (!running && attempt > 2) break
      await sleep(Math.min(5, res.retryAfter) * 1000)
    }
    report.abandoned++
  }

  // A customer holding its notification stream, reconnecting when it drops.
  async function stream(customer: string) {
    while (running) {
      try {
        const res = await fetch(`${options.edge}/api/v1/notifications/stream`, {
          headers: { authorization: `Bearer ${await tokenOf(customer)}` },
          dispatcher: clientOf(customer),
          signal: abort.signal
        })
        if (res.status === 200) {
          report.streamsOpened++
          for await (const chunk of res.body!) void chunk
        } else {
          await res.body?.cancel()
        }
      } catch {
        // dropped (a restarted gateway) or aborted at the end
      }
      if (running) await sleep(1000)
    }
  }

  const timers = [every(options.browsePerSecond ?? 20, browse), every(options.ordersPerSecond ?? 2, order)]
  const streams = options.customers.slice(0, options.streams ?? 3).map((c) => stream(c))

  return {
    async stop() {
      running = false
      timers.forEach(clearInterval)
      while (inFlight.size > 0) await Promise.race(inFlight)
      abort.abort()
      await Promise.all(streams)
      await Promise.all(clients.map((c) => c.close()))
      return report
    }
  }
}
