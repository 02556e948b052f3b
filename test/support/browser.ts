// Real-browser tests: Debian's chromium driven by Playwright against the platform's edge.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import AxeBuilder from '@axe-core/playwright'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Token } from '@platform/contracts'
import { api } from './story.ts'

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium'].filter(
  (p): p is string => Boolean(p)
)

/** Debian's chromium (scripts/setup.sh installs it), headless. */
export async function launch(): Promise<Browser> {
  const executablePath = CANDIDATES.find((p) => existsSync(p))
  if (!executablePath)
    throw new Error(
      `no chromium at ${CANDIDATES.join(', ')}: run scripts/setup.sh (apt: chromium) or set CHROMIUM_PATH`
    )
  return chromium.launch({ executablePath, headless: true, args: ['--disable-dev-shm-usage'] })
}

/** The accessibility rules' serious and critical violations on the page as it is now. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze()
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}

const root = fileURLToPath(new URL('../../', import.meta.url))

/**
 * Screenshots the tests take: dist/screenshots/ always; docs/images/ (what the README shows) when
 * UPDATE_SCREENSHOTS=1, so a normal run leaves the working tree as it was.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dirs = [
    `${root}dist/screenshots/`,
    ...(process.env.UPDATE_SCREENSHOTS === '1' ? [`${root}docs/images/`] : [])
  ]
  for (const dir of dirs) {
    await mkdir(dir, { recursive: true })
    await page.screenshot({ path: `${dir}${name}.png`, fullPage: false })
  }
}

const pageErrors = new WeakMap<Page, string[]>()

/** A page in a context of its own (its own storage: nobody signed in, an empty cart). */
export async function openPage(browser: Browser, edge: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: edge, viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  pageErrors.set(page, errors)
  return page
}

/** Closes the page, failing the test if the app threw an error nobody caught while it was open. */
export async function closePage(page: Page): Promise<void> {
  await page.context().close()
  assert.deepEqual(pageErrors.get(page), [], 'no uncaught error in the page')
}

/** Signs in on the sign-in page the browser is at, as one of the demo users. */
export async function signIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('User name').fill(username)
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

/** A token from the development issuer for a demo user. */
export async function tokenFor(edge: string, username: string): Promise<string> {
  const { status, body } = await api<Token>(edge, '/api/v1/auth/token', {
    method: 'POST',
    body: JSON.stringify({ username, password: 'demo' })
  })
  assert.equal(status, 200)
  return body.accessToken
}
