// Every alert links a runbook section that exists, and every section is an alert's.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { parse } from 'yaml'

const root = new URL('../../', import.meta.url)

test('every alert has a runbook_url to its own section of docs/runbook.md', async () => {
  const rules = parse(await readFile(new URL('deploy/prometheus/rules/platform.yml', root), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; annotations: Record<string, string> }> }>
  }
  const runbook = await readFile(new URL('docs/runbook.md', root), 'utf8')
  const sections = [...runbook.matchAll(/^## (\w+)$/gm)].map((m) => m[1]!)
  const alerts = rules.groups.flatMap((g) => g.rules)
  assert.ok(alerts.length >= 8)
  for (const { alert, annotations } of alerts) {
    assert.equal(
      annotations.runbook_url,
      `https://github.com/platform/platform/blob/main/docs/runbook.md#${alert.toLowerCase()}`,
      alert
    )
    assert.ok(sections.includes(alert), `docs/runbook.md has a section "## ${alert}"`)
  }
  assert.deepEqual(sections.sort(), alerts.map((a) => a.alert).sort(), 'no section without its alert')
})
