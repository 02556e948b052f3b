// The web app in a real browser (Debian's chromium, Playwright) through the native edge: the
// shopping story, the rejected path, errors as a person reads them, accessibility on every page.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test, type TestContext } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import type { Order, Page as PageOf, Product } from '@platform/contracts'
import { platform } from '@platform/testing'
import {
  accessibilityProblems,
  closePage,
  launch,
  openPage,
  screenshot,
  signIn,
  tokenFor as token
} from '../support/browser.ts'
import { platformCommand, usePlatform } from '../support/platform.ts'
import { api } from '../support/story.ts'

const edge = platform.edge
let browser: Browser
let release: () => Promise<void> = async () => {}

before(async () => {
  release = await usePlatform()
  browser = await launch()
})
const tokenFor = (username: string) => token(edge, username)
const newPage = () => openPage(browser, edge)
/** A page of `username`'s, signed in through the sign-in page and back on the catalog. */
async function signedInPage(username: string) {
  const page = await newPage()
  await page.goto('/signin?next=/')
  await signIn(page, username)
  await page.waitForURL(edge + '/')
  return page
}
after(async () => {
  await browser?.close()
  await release()
})

/**
 * A product of its own for one test, so what it sees doesn't depend on the seed or other tests;
 * it leaves the shop when the test ends (at its version then: orders changed its stock).
 */
async function newProduct(t: TestContext, stock: number): Promise<Product> {
  const tag = randomUUID().slice(0, 8)
  const admin = await tokenFor('admin')
  const { status, body } = await api<Product>(edge, '/api/v1/products', {
    method: 'POST',
    token: admin,
    body: JSON.stringify({
      sku: `WEB-${tag}`,
      name: `Browser test lamp ${tag}`,
      description: 'A lamp the browser tests put in the shop and take away again.',
      priceMinor: 1999,
      currency: 'EUR',
      stock
    })
  })
  assert.equal(status, 201)
  t.after(async () => {
    const { body: now } = await api<Product>(edge, `/api/v1/products/${body.id}`, { token: admin })
    const res = await api(edge, `/api/v1/products/${body.id}`, {
      method: 'DELETE',
      token: admin,
      headers: { 'if-match': `"${now.version}"` }
    })
    assert.equal(res.status, 204)
  })
  return body
}

/** Adds `product` (found through the search box) to the cart, `quantity` of it. */
async function putInCart(page: Page, product: Product, quantity: number): Promise<void> {
  await page.goto('/')
  await page.getByLabel('Search products').fill(product.name)
  await page.getByRole('button', { name: 'Search' }).click()
  await page.getByRole('link', { name: product.name }).click()
  await page.getByRole('heading', { level: 1, name: product.name }).waitFor()
  await page.getByLabel('Quantity').fill(String(quantity))
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByText('Added.').waitFor()
}

async function ordersOf(token: string, productId: string): Promise<Order[]> {
  const { body } = await api<PageOf<Order>>(edge, '/api/v1/orders?limit=100', { token })
  return body.items.filter((o) => o.lines.some((l) => l.productId === productId))
}

test('storefront: search, product, cart, sign-in, a double-clicked checkout places one order that turns CONFIRMED on screen', async (t) => {
  const product = await newProduct(t, 10)
  const page = await newPage()
  await putInCart(page, product, 2)
  assert.equal(await page.getByTestId('cart-count').textContent(), '(2)')

  await page.getByRole('link', { name: /^Cart/ }).click()
  await page.getByRole('button', { name: 'Sign in to check out' }).click()
  await page.waitForURL(/\/signin\?next=%2Fcart$|\/signin\?next=\/cart$/)
  await signIn(page, 'alice')
  await page.waitForURL(/\/cart$/)
  await page.getByTestId('cart-line').first().waitFor()
  assert.equal(await page.getByTestId('cart-line').count(), 1)

  // The order page must update by itself: a reload would drop this marker.
  await page.evaluate(() => Object.assign(globalThis, { noReload: true }))
  await page.getByRole('button', { name: 'Place order' }).dblclick()
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/)
  const orderId = page.url().split('/').at(-1)!
  await page.getByTestId('order-status').filter({ hasText: 'CONFIRMED' }).waitFor({ timeout: 30_000 })
  await page.getByRole('link', { name: product.name }).waitFor()
  assert.equal(await page.evaluate(() => (globalThis as { noReload?: boolean }).noReload), true)
  await screenshot(page, 'storefront-order')
  assert.deepEqual(await accessibilityProblems(page), [], 'the order page')

  // One order for the double click, the cart emptied.
  const alice = await tokenFor('alice')
  const placed = await ordersOf(alice, product.id)
  assert.deepEqual(
    placed.map((o) => [o.id, o.status, o.lines[0]?.quantity]),
    [[orderId, 'CONFIRMED', 2]]
  )
  assert.equal(await page.getByTestId('cart-count').textContent(), '(0)')

  // The notification arrived, and the history lists the order.
  await page.getByRole('link', { name: 'Notifications', exact: true }).click()
  await page
    .getByTestId('notification')
    .filter({ has: page.locator(`a[href="/orders/${orderId}"]`) })
    .first()
    .waitFor()
  await page.getByRole('link', { name: 'Orders', exact: true }).click()
  await page
    .getByTestId('order-row')
    .filter({ hasText: orderId.slice(0, 8) })
    .getByText('CONFIRMED')
    .waitFor()

  // Cancel from the order page; a second tab still showing it CONFIRMED is told why it can't.
  await page.getByRole('link', { name: orderId.slice(0, 8) }).click()
  // Its live stream cut (a proxy that drops it), so it can't learn of the cancellation by itself.
  const stale = await page.context().newPage()
  await stale.route('**/api/v1/notifications/stream', (route) => route.abort())
  await stale.goto(`/orders/${orderId}`)
  await stale.getByTestId('order-status').filter({ hasText: 'CONFIRMED' }).waitFor()
  await page.getByRole('button', { name: 'Cancel this order' }).click()
  await page.getByTestId('order-status').filter({ hasText: 'CANCELLED' }).waitFor()
  assert.equal((await ordersOf(alice, product.id))[0]?.status, 'CANCELLED')
  await stale.getByRole('button', { name: 'Cancel this order' }).click()
  assert.match((await stale.getByRole('alert').textContent()) ?? '', /^That can’t be done now: /)
  await closePage(page)
})

test('storefront: a product gone since it went into the cart: checkout says so, no order placed', async (t) => {
  const product = await newProduct(t, 5)
  const page = await signedInPage('bob')
  await putInCart(page, product, 1)
  const admin = await tokenFor('admin')
  const off = await api(edge, `/api/v1/products/${product.id}`, {
    method: 'PATCH',
    token: admin,
    headers: { 'if-match': `"${product.version}"` },
    body: JSON.stringify({ active: false })
  })
  assert.equal(off.status, 200)
  await page.goto('/cart')
  await page.getByRole('button', { name: 'Place order' }).click()
  assert.match((await page.getByRole('alert').textContent()) ?? '', /^We couldn’t do that: /)
  assert.deepEqual(await ordersOf(await tokenFor('bob'), product.id), [])
  assert.equal(await page.getByTestId('cart-line').count(), 1, 'the cart is kept')
  await closePage(page)
})

test('storefront: more than the stock turns the order REJECTED on screen, said plainly', async (t) => {
  const product = await newProduct(t, 1)
  const page = await signedInPage('bob')
  await putInCart(page, product, 3)
  await page.goto('/cart')
  await page.getByRole('button', { name: 'Place order' }).click()
  await page.getByTestId('order-status').filter({ hasText: 'REJECTED' }).waitFor({ timeout: 30_000 })
  await page.getByText('We couldn’t reserve your items').waitFor()
  await closePage(page)
})

test('storefront: notifications arriving together all show, live, on an open page', async (t) => {
  const product = await newProduct(t, 10)
  const page = await newPage()
  await page.goto('/signin?next=/notifications')
  await signIn(page, 'bob')
  await page.getByRole('heading', { name: 'Notifications' }).waitFor()
  await page.waitForTimeout(500) // the stream open
  const bob = await tokenFor('bob')
  const placed = await Promise.all(
    Array.from({ length: 5 }, () =>
      api<Order>(edge, '/api/v1/orders', {
        method: 'POST',
        token: bob,
        headers: { 'idempotency-key': randomUUID() },
        body: JSON.stringify({ lines: [{ productId: product.id, quantity: 1 }] })
      })
    )
  )
  assert.deepEqual(
    placed.map((r) => r.status),
    [201, 201, 201, 201, 201]
  )
  for (const { body } of placed)
    await page
      .getByTestId('notification')
      .filter({ has: page.locator(`a[href="/orders/${body.id}"]`) })
      .waitFor({ timeout: 30_000 })
  await closePage(page)
})

test('storefront: a wrong password and an unavailable catalog are explained, never a blank page', async () => {
  const page = await newPage()
  await page.goto('/signin')
  await page.getByLabel('User name').fill('alice')
  await page.getByLabel('Password').fill('not-the-password')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  assert.equal(await page.getByRole('alert').textContent(), 'Unknown user or wrong password.')

  await platformCommand('kill', 'catalog')
  try {
    // A search nobody made before: not in the edge's micro-cache.
    await page.goto(`/?q=${randomUUID().slice(0, 8)}`)
    const alert = page.getByRole('alert')
    await alert.waitFor({ timeout: 15_000 })
    assert.match(
      (await alert.textContent()) ?? '',
      /busy or unavailable at the moment\. Try again in \d+ s\./
    )
    await page.getByRole('button', { name: 'Try again' }).waitFor()
  } finally {
    await platformCommand('start', 'catalog')
  }
  await page.getByRole('button', { name: 'Try again' }).click()
  await page.getByRole('alert').waitFor({ state: 'detached', timeout: 15_000 })
  await closePage(page)
})

test('storefront: every page passes the accessibility check (no serious or critical violation)', async (t) => {
  const page = await newPage()
  const problems: string[] = []
  const check = async (path: string, ready: () => Promise<unknown>) => {
    await page.goto(path)
    await ready()
    problems.push(...(await accessibilityProblems(page)).map((p) => `${path}: ${p}`))
  }
  await check('/', () => page.getByTestId('product-card').first().waitFor())
  await screenshot(page, 'storefront')
  const product = await newProduct(t, 5)
  await check(`/products/${product.id}`, () => page.getByRole('heading', { name: product.name }).waitFor())
  await check('/signin', () => page.getByLabel('User name').waitFor())
  await signIn(page, 'alice')
  await page.waitForURL(edge + '/')
  await putInCart(page, product, 1)
  await check('/cart', () => page.getByTestId('cart-line').waitFor())
  await check('/orders', () => page.getByRole('heading', { name: 'Your orders' }).waitFor())
  await check('/notifications', () => page.getByRole('heading', { name: 'Notifications' }).waitFor())
  assert.deepEqual(problems, [])
  await closePage(page)
})
