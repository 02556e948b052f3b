// The Grafana dashboards without Grafana: every panel's PromQL parses (promtool, as recording
// rules), names only metrics the platform exports, and the panels of `npm run test:deploy`'s runs
// return series on the live stacks (compose.deploy.test.ts, cluster.deploy.test.ts).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { expand, panelQueries } from '../support/dashboards.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

test('every dashboard panel has a query, and promtool parses each one', async (t) => {
  const queries = panelQueries()
  assert.ok(queries.length >= 20, `${queries.length} panel queries`)
  const dir = await mkdtemp(join(tmpdir(), 'dashboards-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const rules = queries.map(
    (q, i) => `      - record: panel_${i}\n        expr: ${JSON.stringify(expand(q))}`
  )
  await writeFile(join(dir, 'panels.yml'), `groups:\n  - name: panels\n    rules:\n${rules.join('\n')}\n`)
  const { stdout } = await run('promtool', ['check', 'rules', join(dir, 'panels.yml')])
  assert.match(stdout, new RegExp(`SUCCESS: ${queries.length} rules found`))
})

test('every metric a panel reads is one the platform exports, records, or Prometheus itself makes', async () => {
  const sources = (
    await run(
      'git',
      ['grep', '-h', '-o', "name: '[a-z_]*'", '--', 'libs/*/src/*.ts', 'services/*/src/*.ts'],
      { cwd: root }
    )
  ).stdout
  const exported = new Set([...sources.matchAll(/name: '([a-z_]+)'/g)].map((m) => m[1]!))
  const builtIn = /^(up|ALERTS|process_.*|nodejs_.*)$/
  const known = (metric: string) =>
    exported.has(metric) ||
    exported.has(metric.replace(/_(bucket|count|sum|total)$/, '')) ||
    builtIn.test(metric)
  const functions = new Set([
    'sum',
    'max',
    'rate',
    'increase',
    'histogram_quantile',
    'by',
    'vector',
    'or',
    'on',
    'count'
  ])
  // Series recorded by the platform's rules (the SLOs' error ratios): name:with:colons.
  const recorded = new Set<string>()
  for (const file of await readdir(join(root, 'deploy/prometheus/rules'))) {
    const { groups } = parse(await readFile(join(root, 'deploy/prometheus/rules', file), 'utf8')) as {
      groups: Array<{ rules: Array<{ record?: string }> }>
    }
    for (const rule of groups.flatMap((g) => g.rules)) if (rule.record) recorded.add(rule.record)
  }
  for (const q of panelQueries()) {
    for (const [series] of expand(q).matchAll(/\b[a-zA-Z_][a-zA-Z0-9_]*(?::[a-zA-Z0-9_]+)+/g))
      assert.ok(recorded.has(series), `${q.dashboard} / ${q.panel}: ${series} is recorded by no rule`)
    const expr = expand(q)
      .replace(/\b[a-zA-Z_][a-zA-Z0-9_]*(?::[a-zA-Z0-9_]+)+/g, '')
      .replace(/\{[^}]*\}/g, '')
      .replace(/\[[^\]]*\]/g, '')
    const names = [...expr.matchAll(/\b([a-zA-Z_][a-zA-Z0-9_]*)\b(?!\s*\()/g)].map((m) => m[1]!)
    for (const name of names.filter(
      (n) =>
        !functions.has(n) &&
        !/^(job|le|route|method|status_class|state|group|topic|instance|upstream|cache|alertname|channel|outcome)$/.test(
          n
        )
    )) {
      assert.ok(known(name), `${q.dashboard} / ${q.panel}: ${name} is not a metric the platform exports`)
    }
  }
})

test('every panel reads the provisioned Prometheus datasource by its uid', async () => {
  const provisioned = await readFile(
    join(root, 'deploy/grafana/provisioning/datasources/datasources.yaml'),
    'utf8'
  )
  const { datasources } = parse(provisioned) as { datasources: Array<{ uid: string; type: string }> }
  const uid = datasources.find((d) => d.type === 'prometheus')?.uid
  assert.ok(uid)
  const dir = join(root, 'deploy/grafana/dashboards')
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
    const { panels } = JSON.parse(await readFile(join(dir, file), 'utf8')) as {
      panels: Array<{ title: string; datasource?: { type: string; uid: string } }>
    }
    for (const panel of panels)
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid }, `${file}: ${panel.title}`)
  }
})
