// The SLO compiler (scripts/slo.ts): what it refuses, and a dashboard that only queries what the
// generated rules record. The alerts' behaviour is tested by promtool (deploy/prometheus/tests).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { parse } from 'yaml'
import { loadSlos, sloDashboard, sloRules } from '../../scripts/slo.ts'

async function load(yaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'slo-'))
  try {
    await writeFile(join(dir, 'slos.yaml'), yaml)
    return loadSlos(pathToFileURL(join(dir, 'slos.yaml')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
const slo = (objective: number, bad = 'sum(rate(bad[{{window}}]))') =>
  `slos:\n  - { name: api, description: d, objective: ${objective}, bad: '${bad}', total: 'sum(rate(all[{{window}}]))' }\n`

test('an objective of 100 % (no budget) or an SLI without {{window}} is refused', async () => {
  await assert.rejects(load(slo(100)), /objective is a percentage below 100/)
  await assert.rejects(load(slo(99.9, 'sum(rate(bad[5m]))')), /bad must use \{\{window\}\}/)
  assert.equal((await load(slo(99.9))).length, 1)
})

test('each SLO: seven windows recorded, a page and a ticket at the workbook burn rates of its budget', async () => {
  const rules = parse(sloRules(await load(slo(99.9)))) as {
    groups: Array<{ rules: Array<{ record?: string; alert?: string; expr: string }> }>
  }
  const [group] = rules.groups
  assert.deepEqual(
    group!.rules.flatMap((r) => (r.record ? [r.record] : [])),
    ['5m', '30m', '1h', '2h', '6h', '1d', '3d'].map((w) => `slo:error_ratio:rate${w}`)
  )
  const fast = group!.rules.find((r) => r.alert === 'ErrorBudgetBurnFast')!.expr
  assert.match(
    fast,
    /rate1h\{slo="api"\} > 14\.4 \* 0\.001 and slo:error_ratio:rate5m\{slo="api"\} > 14\.4 \* 0\.001/
  )
  assert.match(fast, /rate6h\{slo="api"\} > 6 \* 0\.001 and slo:error_ratio:rate30m/)
  const slow = group!.rules.find((r) => r.alert === 'ErrorBudgetBurnSlow')!.expr
  assert.match(slow, /rate1d\{slo="api"\} > 3 \* 0\.001 and slo:error_ratio:rate2h/)
  assert.match(slow, /rate3d\{slo="api"\} > 1 \* 0\.001 and slo:error_ratio:rate6h/)
})

test('the dashboard queries only series the rules record, for every SLO of the repository', () => {
  const slos = loadSlos()
  const recorded = new Set(
    (parse(sloRules(slos)) as { groups: Array<{ rules: Array<{ record?: string }> }> }).groups.flatMap((g) =>
      g.rules.flatMap((r) => (r.record ? [r.record] : []))
    )
  )
  const { panels } = JSON.parse(sloDashboard(slos)) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>
  }
  assert.equal(panels.length, 3 * slos.length)
  for (const { title, targets } of panels)
    for (const { expr } of targets)
      for (const used of expr.match(/slo:[a-z_:0-9]+/g) ?? [])
        assert.ok(recorded.has(used), `${title}: ${used}`)
  for (const s of slos)
    assert.ok(
      panels.some((p) => p.title.startsWith(`${s.name}:`)),
      s.name
    )
})
