// The web app's budgets (issue 21), against the native platform through its edge (started when it
// isn't running): the JavaScript the storefront's first page ships, as the edge sends it gzipped
// (goal ≤ 100 KB); its first load until the catalog shows, each in a fresh browser profile
// (goal ≤ 1 s, median); and the page staying responsive while the notification stream delivers a
// burst (frames and long tasks measured in the page). BENCH_WEB_LOADS (10), BENCH_WEB_ORDERS (30).
import { request } from 'node:http'
import type { Order, Page as PageOf, Product } from '@platform/contracts'
import { platform } from '@platform/testing'
import { closePage, launch, openPage, signIn, tokenFor } from '../test/support/browser.ts'
import { usePlatform } from '../test/support/platform.ts'
import { api } from '../test/support/story.ts'
import { median, writeResults } from './lib.ts'

const edge = platform.edge
const LOADS = Number(process.env.BENCH_WEB_LOADS ?? 10)
const ORDERS = Number(process.env.BENCH_WEB_ORDERS ?? 30)

/** The bytes the edge sends for `path` to a client that accepts gzip (what crosses the wire). */
function wireBytes(path: string): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    request(`${edge}${path}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.on('end', () => resolve({ bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }))
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

const release = await usePlatform()
const browser = await launch()
try {
  // 1. What the first page ships: its entry script and what it preloads, and its stylesheet.
  const html = await (await fetch(`${edge}/`)).text()
  const scripts = [
    ...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="([^"]+\.js)"/g)
  ].map((m) => m[1]!)
  const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]!)
  const js = await Promise.all(scripts.map(wireBytes))
  const css = await Promise.all(styles.map(wireBytes))
  const jsBytes = js.reduce((n, r) => n + r.bytes, 0)
  const cssBytes = css.reduce((n, r) => n + r.bytes, 0)

  // 2. First load, cold (a fresh profile each time), until the catalog's first card shows.
  const cold: number[] = []
  const warm: number[] = []
  for (let i = 0; i < LOADS; i++) {
    const page = await openPage(browser, edge)
    for (const sample of [cold, warm]) {
      await page.goto(`/?sort=${i % 2 ? 'price' : 'name'}`, { waitUntil: 'commit' })
      await page.getByTestId('product-card').first().waitFor()
      sample.push(await page.evaluate(() => performance.now()))
    }
    await closePage(page)
  }

  // 3. A burst of notifications on an open page: ORDERS orders placed for one customer at once.
  const user = 'alice'
  const token = await tokenFor(edge, user)
  const { body: catalog } = await api<PageOf<Product>>(
    edge,
    '/api/v1/products?limit=50&active=true&sort=price'
  )
  const product = catalog.items.find((p) => p.stock > ORDERS)
  if (!product) throw new Error(`no product with more than ${ORDERS} in stock`)
  const page = await openPage(browser, edge)
  await page.goto('/signin?next=/notifications')
  await signIn(page, user)
  await page.getByRole('heading', { name: 'Notifications' }).waitFor()
  await page.waitForTimeout(1000) // the stream open
  const before = await page.getByTestId('notification').count()
  // In the page (a string: this file is type-checked without the DOM's types): every frame's gap,
  // every long task (> 50 ms on the main thread).
  await page.evaluate(`(() => {
    const probe = { frames: [], longTasks: [] }
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) probe.longTasks.push(e.duration)
    }).observe({ type: 'longtask' })
    let last = performance.now()
    const frame = (now) => {
      probe.frames.push(now - last)
      last = now
      requestAnimationFrame(frame)
    }
    requestAnimationFrame(frame)
    globalThis.probe = probe
  })()`)
  const t0 = Date.now()
  const placed = await Promise.all(
    Array.from({ length: ORDERS }, (_, i) =>
      api<Order>(edge, '/api/v1/orders', {
        method: 'POST',
        token,
        headers: { 'idempotency-key': `bench-web-${t0}-${i}` },
        body: JSON.stringify({ lines: [{ productId: product.id, quantity: 1 }] })
      })
    )
  )
  if (placed.some((r) => r.status !== 201))
    throw new Error(`orders refused: ${placed.map((r) => r.status).join(',')}`)
  await page
    .getByTestId('notification')
    .nth(before + ORDERS - 1)
    .waitFor({ timeout: 120_000 })
  const burstMs = Date.now() - t0
  const probe = await page.evaluate(
    () => (globalThis as unknown as { probe: { frames: number[]; longTasks: number[] } }).probe
  )
  await closePage(page)
  for (const r of placed)
    await api(edge, `/api/v1/orders/${r.body.id}/cancel`, { method: 'POST', token }).catch(() => undefined)

  const frames = [...probe.frames].sort((a, b) => a - b)
  const results = {
    firstPage: {
      scripts,
      jsGzipBytes: jsBytes,
      cssGzipBytes: cssBytes,
      encodings: js.map((r) => r.encoding)
    },
    load: {
      coldMs: { median: median(cold), max: Math.max(...cold), samples: cold },
      warmMs: { median: median(warm), max: Math.max(...warm), samples: warm }
    },
    stream: {
      notifications: ORDERS,
      burstMs,
      frames: frames.length,
      frameP99Ms: frames[Math.floor(frames.length * 0.99)] ?? null,
      frameMaxMs: frames.at(-1) ?? null,
      longTasks: probe.longTasks.length,
      longTaskMaxMs: Math.max(0, ...probe.longTasks)
    }
  }
  const file = writeResults('web', results)
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`
  console.log(`web: first page JS ${kb(jsBytes)} gzipped (goal ≤ 100 KB), CSS ${kb(cssBytes)}`)
  console.log(
    `web: first load until the catalog shows, cold median ${median(cold).toFixed(0)} ms (max ${Math.max(...cold).toFixed(0)}; goal ≤ 1000), warm ${median(warm).toFixed(0)} ms`
  )
  console.log(
    `web: ${ORDERS} notifications streamed in ${burstMs} ms onto an open page: ${frames.length} frames, p99 gap ${results.stream.frameP99Ms?.toFixed(1)} ms, max ${results.stream.frameMaxMs?.toFixed(1)} ms; long tasks ${probe.longTasks.length} (max ${results.stream.longTaskMaxMs.toFixed(0)} ms)`
  )
  console.log(`web: results in ${file}`)
} finally {
  await browser.close()
  await release()
}
