// The Grafana dashboards' queries, checked without Grafana: every panel target's PromQL (template
// variables expanded) is listed here, validated by promtool in `npm test`, and run against the
// live Prometheus of a deploy run, where a panel that returns no series would show "No data".
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { eventually } from '@platform/testing'

const dir = fileURLToPath(new URL('../../deploy/grafana/dashboards/', import.meta.url))

export interface PanelQuery {
  dashboard: string
  panel: string
  expr: string
  /** A template variable the expression uses, and its query (label_values(metric, label)). */
  variable?: { name: string; metric: string; label: string }
}

interface Dashboard {
  title: string
  panels: Array<{ title: string; targets?: Array<{ expr?: string }> }>
  templating?: { list: Array<{ name: string; query: string | { query: string } }> }
}

export function panelQueries(): PanelQuery[] {
  const queries: PanelQuery[] = []
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const dashboard = JSON.parse(readFileSync(dir + file, 'utf8')) as Dashboard
    const variables = (dashboard.templating?.list ?? []).map((v) => {
      const query = typeof v.query === 'string' ? v.query : v.query.query
      // label_values(metric, label)
      const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(query)
      if (!m) throw new Error(`${file}: variable ${v.name}: unsupported query ${query}`)
      return { name: v.name, metric: m[1]!, label: m[2]! }
    })
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        if (!target.expr) continue
        const variable = variables.find((v) => target.expr!.includes(`$${v.name}`))
        queries.push({ dashboard: dashboard.title, panel: panel.title, expr: target.expr, variable })
      }
    }
  }
  return queries
}

/** The expression with its variable set to `value` (or to a valid placeholder for syntax checks). */
export function expand(query: PanelQuery, value = 'placeholder'): string {
  return query.variable ? query.expr.replaceAll(`$${query.variable.name}`, value) : query.expr
}

export type Query = (expr: string) => Promise<unknown[]>

export async function instantQuery(prometheus: string, expr: string): Promise<unknown[]> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`)
  const body = (await res.json()) as { status: string; error?: string; data: { result: unknown[] } }
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`)
  return body.data.result
}

/**
 * The panels that would show "No data": a templated panel counts as empty when it returns no
 * series for every value its variable takes (the database pool panel has nothing to show for the
 * gateway, which has no database, but must for the services that do).
 */
export async function emptyPanels(query: Query): Promise<string[]> {
  const empty: string[] = []
  for (const q of panelQueries()) {
    let values = [undefined as string | undefined]
    if (q.variable) {
      const series = (await query(`count by (${q.variable.label}) (${q.variable.metric})`)) as Array<{
        metric: Record<string, string>
      }>
      values = series.map((s) => s.metric[q.variable!.label])
    }
    let found = false
    for (const value of values) {
      if ((await query(expand(q, value))).length > 0) found = true
    }
    if (!found) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`)
  }
  return empty
}

/**
 * What a deploy target's Prometheus must show: every service instance scraped (up == 1, counted by
 * address: a crashed instance's registration can linger in Consul beside its successor's, at the
 * same address), then, after `drive` made some traffic, every dashboard panel with data.
 */
export async function assertObservable(prometheus: string, drive: () => Promise<void>): Promise<void> {
  const expected = ['catalog', 'gateway', 'gateway', 'notification', 'order']
  let seen = ''
  await eventually(60_000, 'up == 1 for every instance', async () => {
    const result = (await instantQuery(
      prometheus,
      'count by (job, instance) (up{job=~"catalog|order|notification|gateway"} == 1)'
    )) as Array<{ metric: { job: string; instance: string } }>
    seen = result.map((r) => `${r.metric.job}@${r.metric.instance}`).join(', ')
    const jobs = result.map((r) => r.metric.job).sort()
    return JSON.stringify(jobs) === JSON.stringify(expected) ? true : undefined
  }).catch(async (err: Error) => {
    const targets = await fetch(`${prometheus}/api/v1/targets?state=active`)
      .then((r) => r.text())
      .catch((e: Error) => e.message)
    assert.fail(`${err.message}; up == 1: ${seen || 'none'}; targets: ${targets.slice(0, 1500)}`)
  })
  await drive()
  // Rates need two scrapes of that traffic.
  let empty: string[] = []
  await eventually(90_000, 'every panel has data', async () => {
    empty = await emptyPanels((expr) => instantQuery(prometheus, expr))
    return empty.length === 0 ? true : undefined
  }).catch((err: Error) => assert.fail(`${err.message}; still empty: ${empty.join('; ')}`))
}
