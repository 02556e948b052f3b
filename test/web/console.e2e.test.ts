// The operations console in a real browser through the native edge: admin only (the gateway says
// 403 too), the service map following an instance that goes down and comes back, a dead letter
// inspected and replayed, product administration, accessibility.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import type { Browser } from 'playwright-core'
import type { DeadLetterList, Product } from '@platform/contracts'
import { eventually, platform, stack } from '@platform/testing'
import {
  accessibilityProblems,
  closePage,
  launch,
  openPage,
  screenshot,
  signIn,
  tokenFor
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
after(async () => {
  await browser?.close()
  await release()
})

async function signedInPage(username: string, path: string) {
  const page = await openPage(browser, edge)
  await page.goto(`/signin?next=${encodeURIComponent(path)}`)
  await signIn(page, username)
  await page.waitForURL(edge + path)
  return page
}

test('console: a customer is refused, on the page and by the API', async () => {
  const page = await signedInPage('alice', '/console')
  assert.equal(await page.getByRole('alert').textContent(), 'This page is for administrators only.')
  assert.equal(await page.getByRole('link', { name: 'Console' }).count(), 0)
  await closePage(page)

  const alice = await tokenFor(edge, 'alice')
  for (const [method, path] of [
    ['GET', '/api/v1/admin/overview'],
    ['GET', '/api/v1/admin/services/catalog/dead-letters'],
    ['POST', '/api/v1/admin/services/catalog/dead-letters/order.events.dlq/0/0/replay']
  ] as const) {
    const res = await api<{ code: string }>(edge, path, { method, token: alice })
    assert.equal(res.status, 403, `${method} ${path}`)
    assert.equal(res.body.code, 'FORBIDDEN')
  }
  assert.equal((await api(edge, '/api/v1/admin/overview')).status, 401)

  // The owning service validates what the gateway forwards: bad input is a 400, nothing replayed.
  const admin = await tokenFor(edge, 'admin')
  for (const [method, path, status, code] of [
    ['GET', '/api/v1/admin/services/catalog/dead-letters?limit=0', 400, 'VALIDATION_FAILED'],
    [
      'POST',
      '/api/v1/admin/services/catalog/dead-letters/order.events.dlq/x/0/replay',
      400,
      'VALIDATION_FAILED'
    ],
    [
      'POST',
      '/api/v1/admin/services/catalog/dead-letters/catalog.events.dlq/0/0/replay',
      404,
      'DEAD_LETTER_NOT_FOUND'
    ],
    [
      'POST',
      '/api/v1/admin/services/catalog/dead-letters/order.events.dlq/0/999999999/replay',
      404,
      'DEAD_LETTER_NOT_FOUND'
    ]
  ] as const) {
    const res = await api<{ code: string }>(edge, path, { method, token: admin })
    assert.deepEqual([res.status, res.body.code], [status, code], `${method} ${path}`)
  }
})

test('console: the service map shows every service, and an instance going down and coming back', async () => {
  const page = await signedInPage('admin', '/console')
  for (const name of ['gateway', 'catalog', 'order', 'notification'])
    await page.getByTestId(`service-${name}`).getByText('passing').first().waitFor()
  await screenshot(page, 'console')
  assert.deepEqual(await accessibilityProblems(page), [])

  const row = page.getByTestId('service-notification')
  await platformCommand('kill', 'notification')
  try {
    // Consul's check fails within its interval (5 s); the console reads it again every 3 s.
    await row.getByText('critical').waitFor({ timeout: 20_000 })
    assert.equal(await row.getByText('passing').count(), 0)
  } finally {
    await platformCommand('start', 'notification')
  }
  await row.getByText('passing').waitFor({ timeout: 20_000 })
  assert.equal(
    await row.getByText('critical').count(),
    0,
    'the crashed instance is not listed beside the new one'
  )
  await closePage(page)
})

test('console: a dead letter is inspected and replayed; back on its topic, it is dead-lettered again', async () => {
  // Not an event at all: the catalog's consumer dead-letters it at once (reason "schema").
  const key = `console-${randomUUID()}`
  const kafka = new Kafka({
    clientId: 'console-test',
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING
  })
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: 'order.events', messages: [{ key, value: `not json ${key}` }] })
  await producer.disconnect()

  const admin = await tokenFor(edge, 'admin')
  const letters = async () =>
    (
      await api<DeadLetterList>(edge, '/api/v1/admin/services/catalog/dead-letters', { token: admin })
    ).body.items.filter((l) => l.key === key)
  await eventually(30_000, 'the poison message dead-lettered by the catalog', async () =>
    (await letters()).length === 1 ? true : undefined
  )

  const page = await signedInPage('admin', '/console/dead-letters')
  await page.getByLabel('Key or event id').fill(key)
  await page.getByRole('button', { name: 'Find' }).click()
  const mine = page
    .getByRole('region', { name: 'catalog' })
    .getByTestId('dead-letter')
    .filter({ hasText: key })
  await mine.locator('summary').click()
  await mine.getByText(`not json ${key}`).waitFor()
  assert.deepEqual(await accessibilityProblems(page), [])
  await mine.getByRole('button', { name: /^Replay/ }).click()
  await page.getByRole('status').filter({ hasText: 'back on order.events' }).waitFor()
  await mine.getByText('replayed', { exact: true }).waitFor()

  // The same bytes again on order.events: the catalog gives up on them again, a new letter.
  const again = await eventually(30_000, 'the replayed message dead-lettered again', async () => {
    const found = await letters()
    return found.length === 2 ? found : undefined
  })
  assert.deepEqual(
    again.map((l) => l.replayed),
    [false, true] // newest first
  )
  await closePage(page)
})

test('console: products are created, edited with their version and taken off sale', async () => {
  const tag = randomUUID().slice(0, 8)
  const page = await signedInPage('admin', '/console/products')
  await page.getByText('New product').click()
  const form = page.getByRole('form', { name: 'New product' })
  await form.getByLabel('SKU').fill(`CONSOLE-${tag}`)
  await form.getByLabel('Name').fill(`Console kettle ${tag}`)
  await form.getByLabel('Price').fill('24.50')
  await form.getByLabel('Stock').fill('7')
  await form.getByRole('button', { name: 'Create' }).click()
  await page.getByText(`Console kettle ${tag} created.`).waitFor()

  await page.getByLabel('Find products').fill(`Console kettle ${tag}`)
  await page.getByRole('button', { name: 'Find' }).click()
  const row = page.getByTestId('admin-product').filter({ hasText: `Console kettle ${tag}` })
  await row.getByRole('button', { name: /^Edit/ }).click()
  const edit = page.getByRole('form', { name: `Edit Console kettle ${tag}` })
  await edit.getByLabel('Stock').fill('9')
  await edit.getByRole('button', { name: 'Save' }).click()
  await page.getByText(`Console kettle ${tag} saved (version 2).`).waitFor()
  await row.getByRole('button', { name: /^Take off sale/ }).click()
  await page.getByText(`Console kettle ${tag} is no longer on sale.`).waitFor()
  assert.deepEqual(await accessibilityProblems(page), [], 'the products page')

  const admin = await tokenFor(edge, 'admin')
  const { body } = await api<{ items: Product[] }>(
    edge,
    `/api/v1/products?q=${encodeURIComponent(`Console kettle ${tag}`)}`,
    {
      token: admin
    }
  )
  assert.deepEqual(
    body.items.map((p) => [p.sku, p.priceMinor, p.stock, p.active, p.version]),
    [[`CONSOLE-${tag}`, 2450, 9, false, 3]]
  )
  await api(edge, `/api/v1/products/${body.items[0]!.id}`, {
    method: 'DELETE',
    token: admin,
    headers: { 'if-match': '"3"' }
  })
  await closePage(page)
})
