// GET /products/:id on the catalog, cached (Redis hit) and uncached (one Postgres PK SELECT), next
// to a plain Fastify hello world (H) in the same rounds. Goal (issue 4): cached ≥ 50 % of H.
// The catalog runs with its real dependencies (a scratch schema seeded with 1,200 products, Redis,
// Kafka); only the Node process is pinned, and its CPU per request excludes Postgres and Redis.
import { fileURLToPath } from 'node:url'
import { scratchSchema, stack } from '@platform/testing'
import {
  measure,
  median,
  settings,
  startServer,
  startService,
  runServiceCommand,
  writeResults,
  type Measurement
} from './lib.ts'

const s = settings()
const catalogDir = fileURLToPath(new URL('../services/catalog/', import.meta.url))
const hello = fileURLToPath(new URL('servers/hello.ts', import.meta.url))

const schema = await scratchSchema()
const env = {
  DATABASE_URL: schema.url,
  REDIS_URL: `redis://${stack.redis.host}:${stack.redis.port}`,
  KAFKA_BROKERS: stack.kafka.brokers.join(','),
  LOG_LEVEL: 'warn',
  OTEL_EXPORTER_OTLP_ENDPOINT: ''
}
try {
  for (const command of ['src/migrate.ts', 'src/seed.ts']) {
    await runServiceCommand(catalogDir, command, env)
  }
  const pg = await import('pg')
  const db = new pg.default.Client({ connectionString: schema.url })
  await db.connect()
  const { rows } = await db.query<{ id: string }>('SELECT id FROM products WHERE active ORDER BY sku LIMIT 1')
  await db.end()
  const productPath = `/products/${rows[0]!.id}`

  type Name = 'H' | 'cached' | 'uncached'
  const results: Record<
    string,
    { rounds: Array<Record<Name, Measurement>>; median: Record<string, number> }
  > = {}
  for (const mode of s.modes) {
    const pinned = mode === 'pinned'
    const rounds: Array<Record<Name, Measurement>> = []
    for (let round = 1; round <= s.rounds; round++) {
      const row = {} as Record<Name, Measurement>
      const h = await startServer([hello, 'plain'], pinned)
      row.H = await measure(`${h.url}/hello`, h.pid, s, pinned).finally(h.stop)
      for (const name of ['cached', 'uncached'] as const) {
        const service = await startService(
          catalogDir,
          ['src/server.ts'],
          { ...env, CACHE_ENABLED: String(name === 'cached') },
          pinned
        )
        row[name] = await measure(`${service.url}${productPath}`, service.pid, s, pinned).finally(
          service.stop
        )
      }
      for (const name of ['H', 'cached', 'uncached'] as const) {
        const m = row[name]
        console.log(
          `${mode} round ${round} ${name.padEnd(8)} ${m.rps.toFixed(0).padStart(6)} req/s  p99 ${m.p99Ms.toFixed(1)} ms  ${m.cpuUsPerRequest.toFixed(0)} µs CPU/req  errors ${m.errors}`
        )
      }
      rounds.push(row)
    }
    results[mode] = {
      rounds,
      median: {
        H_rps: median(rounds.map((r) => r.H.rps)),
        cached_rps: median(rounds.map((r) => r.cached.rps)),
        uncached_rps: median(rounds.map((r) => r.uncached.rps)),
        cached_over_H: median(rounds.map((r) => r.cached.rps / r.H.rps)),
        uncached_over_H: median(rounds.map((r) => r.uncached.rps / r.H.rps)),
        cached_p99_ms: median(rounds.map((r) => r.cached.p99Ms)),
        uncached_p99_ms: median(rounds.map((r) => r.uncached.p99Ms)),
        H_cpu_us: median(rounds.map((r) => r.H.cpuUsPerRequest)),
        cached_cpu_us: median(rounds.map((r) => r.cached.cpuUsPerRequest)),
        uncached_cpu_us: median(rounds.map((r) => r.uncached.cpuUsPerRequest))
      }
    }
  }

  console.log(
    `\ncatalog GET /products/:id — medians of ${s.rounds} rounds, wrk -t1 -c${s.connections} ${s.durationSeconds}s\n`
  )
  console.log(
    '| mode | H req/s | cached req/s | uncached req/s | cached/H (goal ≥ 50 %) | uncached/H | p99 ms cached / uncached | Node CPU µs/req H / cached / uncached |'
  )
  console.log('|---|--:|--:|--:|--:|--:|--:|--:|')
  for (const [mode, { median: m }] of Object.entries(results)) {
    const pct = (x: number) => `${(x * 100).toFixed(0)} %`
    console.log(
      `| ${mode} | ${m.H_rps!.toFixed(0)} | ${m.cached_rps!.toFixed(0)} | ${m.uncached_rps!.toFixed(0)} | ${pct(m.cached_over_H!)} | ${pct(m.uncached_over_H!)} | ` +
        `${m.cached_p99_ms!.toFixed(1)} / ${m.uncached_p99_ms!.toFixed(1)} | ${m.H_cpu_us!.toFixed(1)} / ${m.cached_cpu_us!.toFixed(1)} / ${m.uncached_cpu_us!.toFixed(1)} |`
    )
  }
  console.log(`\nwritten to ${writeResults('catalog', { settings: s, node: process.version, results })}`)
} finally {
  await schema.drop()
}
