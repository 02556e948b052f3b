// Hello-world throughput: plain Fastify (H), Fastify with the HTTP kit (K: metrics, request ids,
// error handler, load shedding), and the kit with tracing at 100 % sampling (KT). Goals (issue 3):
// K ≥ 85 % of H, KT ≥ 60 % of H, as medians of same-round ratios. KB, the kit plus a handler that
// spins BUSY_US µs, is the host's reference: what that much plain JavaScript per request costs here
// once the server, not wrk, is the bottleneck (bench/README.md).
import { fileURLToPath } from 'node:url'
import { measure, median, settings, startServer, writeResults, type Measurement } from './lib.ts'

const s = settings()
const BUSY_US = Number(process.env.BENCH_BUSY_US ?? 5)
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
interface Scenario {
  label: string
  args: string[]
  traced: boolean
  env?: Record<string, string>
}
type Name = 'H' | 'K' | 'KT' | 'KB'
const scenarios: Record<Name, Scenario> = {
  H: { label: 'plain Fastify', args: [here('servers/hello.ts'), 'plain'], traced: false },
  K: { label: 'Fastify + http-kit', args: [here('servers/hello.ts'), 'kit'], traced: false },
  KT: {
    label: 'Fastify + http-kit + tracing (100 %)',
    args: ['--import', here('servers/traced.ts'), here('servers/hello.ts'), 'kit'],
    traced: true
  },
  KB: {
    label: `Fastify + http-kit + ${BUSY_US} µs of busy work`,
    args: [here('servers/hello.ts'), 'kit'],
    traced: false,
    env: { BENCH_BUSY_US: String(BUSY_US) }
  }
}

const sink = await startServer([here('servers/otlp-sink.ts')], false)
const results: Record<string, { rounds: Array<Record<Name, Measurement>>; median: Record<string, number> }> =
  {}

for (const mode of s.modes) {
  const pinned = mode === 'pinned'
  const rounds: Array<Record<Name, Measurement>> = []
  for (let round = 1; round <= s.rounds; round++) {
    const row = {} as Record<Name, Measurement>
    for (const name of Object.keys(scenarios) as Name[]) {
      const scenario = scenarios[name]
      const server = await startServer(scenario.args, pinned, {
        ...(scenario.traced ? { BENCH_OTLP_ENDPOINT: sink.url } : {}),
        ...scenario.env
      })
      try {
        row[name] = await measure(`${server.url}/hello`, server.pid, s, pinned)
      } finally {
        await server.stop()
      }
      const m = row[name]
      console.log(
        `${mode} round ${round} ${name.padEnd(2)} ${m.rps.toFixed(0).padStart(6)} req/s  p99 ${m.p99Ms.toFixed(1)} ms  ${m.cpuUsPerRequest.toFixed(0)} µs CPU/req  errors ${m.errors}`
      )
    }
    rounds.push(row)
  }
  results[mode] = {
    rounds,
    median: {
      H_rps: median(rounds.map((r) => r.H.rps)),
      K_rps: median(rounds.map((r) => r.K.rps)),
      KT_rps: median(rounds.map((r) => r.KT.rps)),
      KB_rps: median(rounds.map((r) => r.KB.rps)),
      K_over_H: median(rounds.map((r) => r.K.rps / r.H.rps)),
      KT_over_H: median(rounds.map((r) => r.KT.rps / r.H.rps)),
      KB_over_H: median(rounds.map((r) => r.KB.rps / r.H.rps)),
      // Capacity by CPU: requests one core serves, relative to H (independent of the load generator).
      K_cpu_capacity: median(rounds.map((r) => r.H.cpuUsPerRequest / r.K.cpuUsPerRequest)),
      KT_cpu_capacity: median(rounds.map((r) => r.H.cpuUsPerRequest / r.KT.cpuUsPerRequest)),
      H_cpu_us: median(rounds.map((r) => r.H.cpuUsPerRequest)),
      K_cpu_us: median(rounds.map((r) => r.K.cpuUsPerRequest)),
      KT_cpu_us: median(rounds.map((r) => r.KT.cpuUsPerRequest)),
      KB_cpu_us: median(rounds.map((r) => r.KB.cpuUsPerRequest)),
      H_p99_ms: median(rounds.map((r) => r.H.p99Ms)),
      K_p99_ms: median(rounds.map((r) => r.K.p99Ms)),
      KT_p99_ms: median(rounds.map((r) => r.KT.p99Ms))
    }
  }
}
await sink.stop()

console.log(
  `\nhttp-kit hello world — medians of ${s.rounds} rounds, wrk -t1 -c${s.connections} ${s.durationSeconds}s\n`
)
console.log(
  `| mode | H req/s | K req/s | KT req/s | K/H (goal ≥ 85 %) | KT/H (goal ≥ 60 %) | KB/H (${BUSY_US} µs busy) | CPU µs/req H → K → KT (KB) | capacity by CPU K, KT | p99 ms H / K / KT |`
)
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
for (const [mode, { median: m }] of Object.entries(results)) {
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`
  console.log(
    `| ${mode} | ${m.H_rps!.toFixed(0)} | ${m.K_rps!.toFixed(0)} | ${m.KT_rps!.toFixed(0)} | ${pct(m.K_over_H!)} | ${pct(m.KT_over_H!)} | ${pct(m.KB_over_H!)} | ` +
      `${m.H_cpu_us!.toFixed(1)} → ${m.K_cpu_us!.toFixed(1)} → ${m.KT_cpu_us!.toFixed(1)} (${m.KB_cpu_us!.toFixed(1)}) | ${pct(m.K_cpu_capacity!)}, ${pct(m.KT_cpu_capacity!)} | ${m.H_p99_ms!.toFixed(1)} / ${m.K_p99_ms!.toFixed(1)} / ${m.KT_p99_ms!.toFixed(1)} |`
  )
}
console.log(`\nwritten to ${writeResults('http-kit', { settings: s, node: process.version, results })}`)
