// The operations console's picture of the platform: instances and their health from Consul, the
// golden signals, breakers, lag, outbox and dead letters from Prometheus, firing alerts. Read on
// demand, each source with a short timeout; a source that doesn't answer is reported as such.
import type { Alert, Breaker, Instance, Link, Overview, ServiceStatus } from '@platform/contracts'

/** One service as its manifest describes it (admin/topology.generated.ts). */
export interface ServiceNode {
  name: string
  calls: string[]
  produces: string[]
  consumes: string[]
}

export interface OverviewOptions {
  topology: ServiceNode[]
  consulUrl?: string | undefined
  prometheusUrl?: string | undefined
  timeoutMs?: number
}

interface ConsulEntry {
  Service: { ID: string; Address: string; Port: number }
  Checks: Array<{ Status: string; ServiceID: string }>
}

interface PromSample {
  metric: Record<string, string>
  value: [number, string]
}

// Application traffic only: probes and scrapes would make an idle service look busy and healthy.
const APP = 'route!~"/health/.*|/metrics"'
const QUERIES = {
  rate: `sum by (job) (rate(http_request_duration_seconds_count{${APP}}[1m]))`,
  errors: `sum by (job) (rate(http_request_duration_seconds_count{${APP},status_class="5xx"}[1m]))`,
  p99: `histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket{${APP}}[5m])))`,
  breakers: 'max by (job, upstream) (circuit_breaker_state)',
  lag: 'sum by (job) (kafka_consumer_lag_messages)',
  outbox: 'sum by (job) (outbox_backlog_messages)',
  deadLettered: 'sum by (job) (increase(kafka_dead_letter_messages_total[15m]))'
} as const

const BREAKER_STATES: Breaker['state'][] = ['closed', 'half_open', 'open']
const WORST: Instance['health'][] = ['passing', 'warning', 'critical']

function number(value: string | undefined): number | null {
  if (value === undefined) return null
  const n = Number(value)
  return Number.isFinite(n) ? n : null
}

/** Every link between services: HTTP calls, and an event topic from its producer to each consumer. */
export function linksOf(topology: ServiceNode[]): Link[] {
  const links: Link[] = []
  for (const node of topology) for (const to of node.calls) links.push({ from: node.name, to, kind: 'http' })
  for (const producer of topology)
    for (const topic of producer.produces)
      for (const consumer of topology.filter((n) => n.consumes.includes(topic)))
        links.push({ from: producer.name, to: consumer.name, kind: 'event', topic })
  return links
}

export function createOverview(options: OverviewOptions): () => Promise<Overview> {
  const timeoutMs = options.timeoutMs ?? 2000
  const links = linksOf(options.topology)

  async function json<T>(url: string): Promise<T> {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
    return (await res.json()) as T
  }

  async function instances(): Promise<Map<string, Instance[]> | null> {
    if (!options.consulUrl) return null
    const base = options.consulUrl.replace(/\/$/, '')
    try {
      const answers = await Promise.all(
        options.topology.map(async (n) => {
          const entries = await json<ConsulEntry[]>(`${base}/v1/health/service/${encodeURIComponent(n.name)}`)
          return [
            n.name,
            entries.map((e) => ({
              id: e.Service.ID,
              address: `${e.Service.Address}:${e.Service.Port}`,
              health: e.Checks.reduce<Instance['health']>((worst, c) => {
                const h = (
                  WORST.includes(c.Status as Instance['health']) ? c.Status : 'critical'
                ) as Instance['health']
                return WORST.indexOf(h) > WORST.indexOf(worst) ? h : worst
              }, 'passing')
            }))
          ] as const
        })
      )
      return new Map(answers)
    } catch {
      return null
    }
  }

  async function metrics(): Promise<Record<keyof typeof QUERIES, PromSample[]> | null> {
    if (!options.prometheusUrl) return null
    const base = options.prometheusUrl.replace(/\/$/, '')
    try {
      const entries = await Promise.all(
        Object.entries(QUERIES).map(async ([name, query]) => {
          const body = await json<{ data: { result: PromSample[] } }>(
            `${base}/api/v1/query?query=${encodeURIComponent(query)}`
          )
          return [name, body.data.result] as const
        })
      )
      return Object.fromEntries(entries) as Record<keyof typeof QUERIES, PromSample[]>
    } catch {
      return null
    }
  }

  async function alerts(): Promise<Alert[] | null> {
    if (!options.prometheusUrl) return null
    try {
      const body = await json<{
        data: {
          alerts: Array<{
            labels: Record<string, string>
            annotations: Record<string, string>
            state: string
            activeAt?: string
          }>
        }
      }>(`${options.prometheusUrl.replace(/\/$/, '')}/api/v1/alerts`)
      return body.data.alerts
        .filter((a) => a.state === 'firing' || a.state === 'pending')
        .map((a) => ({
          name: a.labels.alertname ?? 'unnamed',
          state: a.state as Alert['state'],
          severity: a.labels.severity ?? 'none',
          summary: a.annotations.summary ?? a.annotations.description ?? '',
          activeAt: a.activeAt ?? null,
          labels: a.labels
        }))
    } catch {
      return null
    }
  }

  return async function overview(): Promise<Overview> {
    const [found, figures, firing] = await Promise.all([instances(), metrics(), alerts()])
    const byJob = (samples: PromSample[] | undefined, job: string) =>
      figures ? (number(samples?.find((s) => s.metric.job === job)?.value[1]) ?? 0) : null
    const services: ServiceStatus[] = options.topology.map(({ name }) => {
      const rate = byJob(figures?.rate, name)
      const errors = byJob(figures?.errors, name)
      const p99 = figures ? number(figures.p99.find((s) => s.metric.job === name)?.value[1]) : null
      return {
        name,
        instances: found?.get(name) ?? [],
        requestsPerSecond: rate,
        errorRatio: rate === null || errors === null ? null : rate > 0 ? errors / rate : 0,
        p99Seconds: p99,
        breakers: (figures?.breakers ?? [])
          .filter((s) => s.metric.job === name && s.metric.upstream)
          .map((s) => ({
            upstream: s.metric.upstream!,
            state: BREAKER_STATES[Math.round(Number(s.value[1]))] ?? 'open'
          })),
        consumerLag: byJob(figures?.lag, name),
        outboxBacklog: byJob(figures?.outbox, name),
        deadLettered15m: byJob(figures?.deadLettered, name)
      }
    })
    return {
      services,
      links,
      alerts: firing ?? [],
      sources: { consul: found !== null, prometheus: figures !== null && firing !== null },
      generatedAt: new Date().toISOString()
    }
  }
}
