// Every alert links a runbook section that exists, and every section is an alert's.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { parse } from 'yaml'

const root = new URL('../../', import.meta.url)

test('every alert has a runbook_url to its own section of docs/runbook.md', async () => {
  const files = (await readdir(new URL('deploy/prometheus/rules/', root))).filter((f) => f.endsWith('.yml'))
  const alerts: Array<{ alert: string; annotations: Record<string, string> }> = []
  for (const file of files) {
    const rules = parse(await readFile(new URL(`deploy/prometheus/rules/${file}`, root), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert?: string; annotations: Record<string, string> }> }>
    }
    for (const rule of rules.groups.flatMap((g) => g.rules))
      if (rule.alert) alerts.push({ alert: rule.alert, annotations: rule.annotations })
  }
  const runbook = await readFile(new URL('docs/runbook.md', root), 'utf8')
  const sections = [...runbook.matchAll(/^## (\w+)$/gm)].map((m) => m[1]!)
  assert.ok(alerts.length >= 10, 'the platform alerts and those of the SLOs')
  for (const { alert, annotations } of alerts) {
    assert.equal(
      annotations.runbook_url,
      `https://github.com/platform/platform/blob/main/docs/runbook.md#${alert.toLowerCase()}`,
      alert
    )
    assert.ok(sections.includes(alert), `docs/runbook.md has a section "## ${alert}"`)
  }
  assert.deepEqual(
    sections.sort(),
    [...new Set(alerts.map((a) => a.alert))].sort(),
    'no section without its alert'
  )
})
