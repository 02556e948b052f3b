import { useEffect } from 'preact/hooks'
import type { Overview, ServiceStatus } from '@platform/contracts'
import { get } from '../api.ts'
import { when } from '../format.ts'
import { useResource } from '../hooks.ts'
import { ErrorNotice, Loading } from '../components/ui.tsx'

const REFRESH_MS = 3000

const fixed = (n: number | null, digits: number, unit = '') =>
  n === null ? '—' : `${n.toFixed(digits)}${unit}`

const NODE = { w: 150, h: 56 }
const COLUMN = 230
const ROW = 84

/**
 * Services in columns by how far they are from the edge (HTTP calls read left to right), then a
 * column of topics: producers point to a topic, a topic points to its consumers.
 */
function layout(overview: Overview): Map<string, { x: number; y: number }> {
  const http = overview.links.filter((l) => l.kind === 'http')
  const called = new Set(http.map((l) => l.to))
  const depth = new Map<string, number>()
  const queue = overview.services.filter((s) => !called.has(s.name)).map((s) => s.name)
  for (const name of queue) depth.set(name, 0)
  while (queue.length > 0) {
    const from = queue.shift()!
    for (const l of http.filter((k) => k.from === from))
      if (!depth.has(l.to)) {
        depth.set(l.to, Math.min(1, depth.get(from)! + 1))
        queue.push(l.to)
      }
  }
  for (const s of overview.services) if (!depth.has(s.name)) depth.set(s.name, 1)
  const topicColumn = Math.max(0, ...depth.values()) + 1
  for (const topic of topicsOf(overview)) depth.set(`topic:${topic}`, topicColumn)
  const columns = new Map<number, string[]>()
  for (const [name, d] of depth) columns.set(d, [...(columns.get(d) ?? []), name])
  const at = new Map<string, { x: number; y: number }>()
  for (const [d, names] of columns)
    names.forEach((name, i) => at.set(name, { x: 20 + d * COLUMN, y: 20 + i * ROW }))
  return at
}

const topicsOf = (o: Overview) => [...new Set(o.links.flatMap((l) => (l.topic ? [l.topic] : [])))].sort()

function health(s: ServiceStatus): 'up' | 'warn' | 'down' {
  const passing = s.instances.filter((i) => i.health === 'passing').length
  return passing === 0 ? 'down' : passing < s.instances.length ? 'warn' : 'up'
}

interface Edge {
  from: string
  to: string
  kind: 'http' | 'event'
}

/** The diagram's edges: HTTP calls as they are, each event link through its topic's node. */
function edgesOf(o: Overview): Edge[] {
  const edges = new Map<string, Edge>()
  for (const l of o.links) {
    const list: Edge[] =
      l.kind === 'http'
        ? [{ from: l.from, to: l.to, kind: 'http' }]
        : [
            { from: l.from, to: `topic:${l.topic}`, kind: 'event' },
            { from: `topic:${l.topic}`, to: l.to, kind: 'event' }
          ]
    for (const e of list) edges.set(`${e.from}>${e.to}`, e)
  }
  return [...edges.values()]
}

/** From one node's side to another's: sideways between columns, top and bottom within one. */
function path(a: { x: number; y: number }, b: { x: number; y: number }, kind: Edge['kind']): string {
  if (a.x === b.x) {
    const down = b.y > a.y
    return `M${a.x + NODE.w / 2},${down ? a.y + NODE.h : a.y} L${b.x + NODE.w / 2},${down ? b.y : b.y + NODE.h}`
  }
  const right = b.x > a.x
  const dy = kind === 'event' ? (right ? -8 : 8) : 0
  return `M${right ? a.x + NODE.w : a.x},${a.y + NODE.h / 2 + dy} L${right ? b.x : b.x + NODE.w},${b.y + NODE.h / 2 + dy}`
}

function Diagram({ overview }: { overview: Overview }) {
  const at = layout(overview)
  const width = Math.max(...[...at.values()].map((p) => p.x)) + NODE.w + 20
  const height = Math.max(...[...at.values()].map((p) => p.y)) + NODE.h + 20
  return (
    <svg class="map" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="map-title">
      <title id="map-title">
        Service map:{' '}
        {overview.links.map((l) => `${l.from} to ${l.to}${l.topic ? ` through ${l.topic}` : ''}`).join(', ')}
      </title>
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="10"
          refY="5"
          markerWidth="6"
          markerHeight="6"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" fill="#57606a" />
        </marker>
      </defs>
      {edgesOf(overview).map((e) => {
        const a = at.get(e.from)
        const b = at.get(e.to)
        return a && b ? (
          <path
            key={`${e.from}>${e.to}`}
            class={`link ${e.kind}`}
            d={path(a, b, e.kind)}
            marker-end="url(#arrow)"
          />
        ) : null
      })}
      {topicsOf(overview).map((t) => {
        const p = at.get(`topic:${t}`)!
        return (
          <g key={t} class="node topic">
            <rect x={p.x} y={p.y} width={NODE.w} height={NODE.h} rx="28" />
            <text x={p.x + 14} y={p.y + 33}>
              {t}
            </text>
          </g>
        )
      })}
      {overview.services.map((s) => {
        const p = at.get(s.name)!
        return (
          <g key={s.name} class={`node ${health(s)}`} data-testid={`node-${s.name}`}>
            <rect x={p.x} y={p.y} width={NODE.w} height={NODE.h} rx="8" />
            <text x={p.x + 10} y={p.y + 22} class="name">
              {s.name}
            </text>
            <text x={p.x + 10} y={p.y + 42}>
              {s.instances.filter((i) => i.health === 'passing').length}/{s.instances.length} up ·{' '}
              {fixed(s.requestsPerSecond, 1)} req/s
            </text>
          </g>
        )
      })}
    </svg>
  )
}

export function ServiceMap() {
  const overview = useResource((signal) => get<Overview>('/admin/overview', signal), [])
  useEffect(() => {
    const timer = setInterval(overview.reload, REFRESH_MS)
    return () => clearInterval(timer)
  }, [overview.reload])
  const o = overview.data
  return (
    <>
      <ErrorNotice error={overview.error} />
      {!o && overview.loading && <Loading label="Reading the platform…" />}
      {o && (
        <>
          {(!o.sources.consul || !o.sources.prometheus) && (
            <p class="notice" role="status">
              {!o.sources.consul && 'Consul did not answer: instances are unknown. '}
              {!o.sources.prometheus && 'Prometheus did not answer: figures and alerts are unavailable.'}
            </p>
          )}
          <Diagram overview={o} />
          <p class="muted">
            Updated {when(o.generatedAt)}, every {REFRESH_MS / 1000} s.
          </p>
          <h2>Services</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Instances</th>
                <th scope="col">Requests/s</th>
                <th scope="col">Errors</th>
                <th scope="col">p99</th>
                <th scope="col">Breakers</th>
                <th scope="col">Consumer lag</th>
                <th scope="col">Outbox</th>
                <th scope="col">Dead-lettered (15 min)</th>
              </tr>
            </thead>
            <tbody>
              {o.services.map((s) => (
                <tr key={s.name} data-testid={`service-${s.name}`}>
                  <th scope="row">{s.name}</th>
                  <td>
                    {s.instances.length === 0 && <span class="badge down">none</span>}
                    <ul class="plain">
                      {s.instances.map((i) => (
                        <li key={i.id}>
                          <span
                            class={`badge ${i.health === 'passing' ? 'up' : i.health === 'warning' ? 'warn' : 'down'}`}
                          >
                            {i.health}
                          </span>{' '}
                          <code>{i.address}</code>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>{fixed(s.requestsPerSecond, 1)}</td>
                  <td>{s.errorRatio === null ? '—' : fixed(s.errorRatio * 100, 1, ' %')}</td>
                  <td>{s.p99Seconds === null ? '—' : fixed(s.p99Seconds * 1000, 0, ' ms')}</td>
                  <td>
                    {s.breakers.length === 0
                      ? '—'
                      : s.breakers.map((b) => (
                          <span
                            key={b.upstream}
                            class={`badge ${b.state === 'closed' ? 'up' : b.state === 'open' ? 'down' : 'warn'}`}
                          >
                            {b.upstream}: {b.state.replace('_', '-')}
                          </span>
                        ))}
                  </td>
                  <td>{fixed(s.consumerLag, 0)}</td>
                  <td>{fixed(s.outboxBacklog, 0)}</td>
                  <td>{fixed(s.deadLettered15m, 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Alerts</h2>
          {o.alerts.length === 0 ? (
            <p>{o.sources.prometheus ? 'Nothing is firing.' : 'Unknown: Prometheus did not answer.'}</p>
          ) : (
            <ul class="feed" data-testid="alerts">
              {o.alerts.map((a, i) => (
                <li key={i}>
                  <span class={`badge ${a.state === 'firing' ? 'down' : 'warn'}`}>{a.state}</span>{' '}
                  <strong>{a.name}</strong> <span class="muted">({a.severity})</span> {a.summary}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </>
  )
}
