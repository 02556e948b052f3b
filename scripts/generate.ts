// Writes what the service manifests (services/<name>/service.json) imply in files that must stay
// static for their users: the compose file's and the chart values' service entries (between their
// "generated" markers), the database init script, the Kafka topics, the manifest's JSON Schema, the
// SLO rules and dashboard, and the API and event documents (libs/contracts/generated).
// Usage: node --conditions=development scripts/generate.ts [--check]   (npm run generate; --check fails on any difference)
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as prettier from 'prettier'
import { ManifestSchema, type Manifest } from '../libs/service/src/manifest.ts'
import { manifests } from './services.ts'
import { loadSlos, sloDashboard, sloRules, type Slo } from './slo.ts'
import { asyncApiDocument, GENERATED, loadReads } from './contracts.ts'
import type { ConsumerReads } from '../libs/contracts/src/index.ts'
import { openApiDocument } from '../services/gateway/src/openapi.ts'
import { API_PREFIX } from '../services/gateway/src/routes/api.ts'
import { operations } from '../services/gateway/src/routes/table.ts'

const root = new URL('../', import.meta.url)
const BEGIN =
  '# --- generated from services/*/service.json (npm run generate): edit the manifests, not this ---'
const END = '# --- end of generated entries ---'

const deployOf = (m: Manifest) => m.deploy ?? {}
/** The services a service calls: the edge also calls every service with public routes. */
const callsOf = (m: Manifest, all: Manifest[]) =>
  m.edge
    ? [...new Set([...m.calls, ...all.filter((s) => !s.edge && s.routes.length > 0).map((s) => s.name)])]
    : m.calls
const usesKafka = (m: Manifest) => m.produces.length > 0 || m.consumes.length > 0
const pgUrl = (db: string) => `postgres://${db}:${db}@postgres:5432/${db}`

/** The variables a container of `m` gets besides the shared ones, in the same order everywhere. */
function envOf(m: Manifest): Record<string, string> {
  return {
    ...(usesKafka(m) ? { KAFKA_BROKERS: 'kafka:9092' } : {}),
    ...(m.database ? { DATABASE_URL: pgUrl(m.database) } : {}),
    ...(m.redis ? { REDIS_URL: 'redis://redis:6379' } : {}),
    ...(m.smtp ? { SMTP_URL: 'smtp://mailpit:1025' } : {}),
    // The edge's gateway reads Prometheus for the operations console.
    ...(m.edge ? { PROMETHEUS_URL: 'http://prometheus:9090' } : {}),
    ...deployOf(m).env
  }
}

const yamlValue = (v: string) =>
  /^[\w./:@,-]+$/.test(v) && !/^\d+$/.test(v) ? v : `'${v.replaceAll("'", "''")}'`

function composeEntries(all: Manifest[]): string {
  const blocks: string[] = []
  for (const m of all) {
    const instances = m.edge ? [`${m.name}-1`, `${m.name}-2`] : [m.name]
    for (const instance of instances) {
      const env: Record<string, string> = {
        PORT: `'${m.port}'`,
        ADVERTISE_ADDRESS: instance,
        ...Object.fromEntries(Object.entries(envOf(m)).map(([k, v]) => [k, yamlValue(v)])),
        ...(m.edge ? { DEV_TOKENS_PRIVATE_JWK_FILE: '/keys/dev-signing-key.json' } : {})
      }
      const healthy = [
        ...(m.database ? ['postgres'] : []),
        ...(m.redis ? ['redis'] : []),
        ...(usesKafka(m) ? ['kafka'] : []),
        'consul',
        ...(m.smtp ? ['mailpit'] : []),
        ...callsOf(m, all)
      ]
      const completed = [
        ...(usesKafka(m) ? ['kafka-topics'] : []),
        ...(m.edge ? ['dev-keys'] : []),
        ...(deployOf(m).after ?? [])
      ]
      blocks.push(
        [
          `  ${instance}:`,
          `    <<: *service`,
          `    image: platform/${m.name}:dev`,
          `    build: { context: ., args: { <<: *build-args, SERVICE: ${m.name} } }`,
          `    environment:`,
          `      <<: *service-env`,
          ...Object.entries(env).map(([k, v]) => `      ${k}: ${v}`),
          ...(m.edge ? [`    volumes:`, `      - dev-keys:/keys:ro`] : []),
          `    depends_on:`,
          ...healthy.map((d) => `      ${d}: { condition: service_healthy }`),
          // Read for the operations console only: the gateways start without it.
          ...(m.edge ? [`      prometheus: { condition: service_started }`] : []),
          ...completed.map((d) => `      ${d}: { condition: service_completed_successfully }`)
        ].join('\n')
      )
    }
  }
  return blocks.join('\n\n')
}

function helmEntries(all: Manifest[]): string {
  const flow = (items: string[]) => `[${items.join(', ')}]`
  return all
    .map((m) => {
      const d = deployOf(m)
      const replicas = d.replicas ?? 1
      const callers = all.filter((c) => callsOf(c, all).includes(m.name)).map((c) => c.name)
      const egress = [
        ...(m.database ? ['postgres'] : []),
        ...(m.redis ? ['redis'] : []),
        ...(usesKafka(m) ? ['kafka'] : []),
        ...(m.smtp ? ['mailpit'] : []),
        ...(m.edge ? ['prometheus'] : []),
        ...callsOf(m, all)
      ]
      const env = envOf(m)
      return [
        `  ${m.name}:`,
        `    port: ${m.port}`,
        `    replicas: ${replicas}`,
        ...(Object.keys(env).length > 0
          ? [`    env:`, ...Object.entries(env).map(([k, v]) => `      ${k}: ${yamlValue(v)}`)]
          : []),
        ...(m.edge ? [`    devTokens: true`] : []),
        `    resources:`,
        `      requests: { cpu: 100m, memory: 96Mi }`,
        `      limits: { cpu: 500m, memory: 160Mi }`,
        `    autoscaling: { enabled: ${d.autoscaling ?? false}, minReplicas: ${replicas}, maxReplicas: ${replicas + 2}, targetCPUUtilizationPercentage: 70 }`,
        `    disruptionBudget: { minAvailable: ${d.minAvailable ?? 0} }`,
        `    ingressFrom: ${flow(m.edge ? ['edge'] : callers)}`,
        `    egressTo: ${flow(egress)}`
      ].join('\n')
    })
    .join('\n')
}

function initSql(all: Manifest[]): string {
  const list = `ARRAY[${all
    .filter((m) => m.database)
    .map((m) => `'${m.database}'`)
    .join(', ')}]`
  return `-- Generated from services/*/service.json (npm run generate): edit the manifests, not this.
-- One database and one login role per service. Idempotent (psql's \\gexec runs each generated
-- statement only when the object is missing), so the native stack runs it on every start and the
-- compose PostgreSQL runs it once from docker-entrypoint-initdb.d. Passwords are development-only
-- defaults; deployments pass their own.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', r, r)
  FROM unnest(${list}) AS r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r)
\\gexec

SELECT format('CREATE DATABASE %I OWNER %I', d, d)
  FROM unnest(${list}) AS d
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\\gexec

-- A service's database is its own: no other role may connect to it.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', d)
  FROM unnest(${list}) AS d
\\gexec
`
}

/**
 * Every topic a service produces or consumes, and a dead-letter topic for each consumed one; the
 * platform's own smoke-test topic. Created by the native stack, the compose job and the chart's.
 */
function topics(all: Manifest[], current: string): string {
  const previous = current ? (JSON.parse(current) as { defaults?: unknown }) : {}
  const names = new Set<string>()
  for (const m of all) {
    for (const t of m.produces) names.add(t)
    for (const t of m.consumes) names.add(t).add(`${t}.dlq`)
  }
  return JSON.stringify({
    defaults: previous.defaults ?? { partitions: 3, replicationFactor: 1 },
    topics: [
      ...[...names].sort().map((name) => ({ name })),
      { name: 'platform.smoke', config: { 'retention.ms': '3600000' } }
    ]
  })
}

/**
 * The public routes the edge forwards as they are: those of the services its own route table
 * doesn't cover (the ones its manifest doesn't name in `calls`).
 */
function edgeRoutes(all: Manifest[], edge: Manifest): string {
  const routes = all
    .filter((m) => !m.edge && m.routes.length > 0 && !edge.calls.includes(m.name))
    .flatMap((m) =>
      m.routes.map((r) => ({ service: m.name, prefix: r.prefix, access: r.access, stream: m.streams }))
    )
  return `// Generated from services/*/service.json (npm run generate): edit the manifests, not this.
import type { ServiceRoute } from './forward.ts'

/** The public routes of the services the route table doesn't list: forwarded as they are. */
export const SERVICE_ROUTES: ServiceRoute[] = ${JSON.stringify(routes)}
`
}

/**
 * The platform as the operations console draws it: every service, whom it calls over HTTP, what
 * it produces and consumes (the gateway reads it for its admin overview).
 */
function topology(all: Manifest[]): string {
  const nodes = all.map((m) => ({
    name: m.name,
    calls: callsOf(m, all),
    produces: m.produces,
    consumes: m.consumes
  }))
  return `// Generated from services/*/service.json (npm run generate): edit the manifests, not this.
import type { ServiceNode } from './overview.ts'

export const TOPOLOGY: ServiceNode[] = ${JSON.stringify(nodes)}
`
}

/** `text` with what lies between the markers replaced by `entries`. */
function between(file: string, text: string, entries: string): string {
  const begin = text.indexOf(BEGIN)
  const end = text.indexOf(END)
  if (begin < 0 || end < begin) throw new Error(`${file}: the generated-entries markers are missing`)
  const indent = text.slice(text.lastIndexOf('\n', begin) + 1, begin)
  return `${text.slice(0, begin)}${BEGIN}\n${entries}\n${indent}${text.slice(end)}`
}

/** Each service's declared reads, as its reads.ts says today. */
const currentReads = await loadReads(manifests())

export function generated(
  all: Manifest[] = manifests(),
  reads: Map<string, ConsumerReads> = currentReads
): Map<string, (current: string) => string> {
  const consumers = all.filter((m) => m.consumes.length > 0).map((m) => m.name)
  const edge = all.find((m) => m.edge)
  let loaded: Slo[] | undefined
  const slos = () => (loaded ??= loadSlos()) // read once for both files it compiles into
  return new Map<string, (current: string) => string>([
    ...(edge
      ? ([
          [`services/${edge.name}/src/routes/services.generated.ts`, () => edgeRoutes(all, edge)],
          [`services/${edge.name}/src/admin/topology.generated.ts`, () => topology(all)]
        ] as const)
      : []),
    ['libs/service/manifest.schema.json', () => `${JSON.stringify(ManifestSchema, null, 2)}\n`],
    ['deploy/postgres/init.sql', () => initSql(all)],
    ['deploy/kafka/topics.json', (text) => topics(all, text)],
    ['docker-compose.yml', (text) => between('docker-compose.yml', text, composeEntries(all))],
    ['helm/platform/values.yaml', (text) => between('helm/platform/values.yaml', text, helmEntries(all))],
    ['deploy/prometheus/rules/slo.yml', () => sloRules(slos())],
    ['deploy/grafana/dashboards/slo.json', () => sloDashboard(slos())],
    [`${GENERATED}/openapi.json`, () => JSON.stringify(openApiDocument(operations(consumers), API_PREFIX))],
    [`${GENERATED}/asyncapi.json`, () => JSON.stringify(asyncApiDocument(all, reads))]
  ])
}

if (import.meta.main) {
  const check = process.argv.includes('--check')
  const stale: string[] = []
  for (const [file, render] of generated()) {
    const url = new URL(file, root)
    let current = ''
    try {
      current = readFileSync(url, 'utf8')
    } catch {
      // a file made for the first time
    }
    const path = fileURLToPath(url)
    const options = await prettier.resolveConfig(path)
    const { inferredParser } = await prettier.getFileInfo(path)
    const rendered = render(current)
    // Written as prettier would leave it, so the format check and this check agree.
    const next = inferredParser ? await prettier.format(rendered, { ...options, filepath: path }) : rendered
    if (next === current) continue
    if (check) stale.push(file)
    else {
      writeFileSync(url, next)
      console.log(`generated ${file}`)
    }
  }
  if (stale.length > 0) {
    process.stderr.write(`out of date (run npm run generate and commit): ${stale.join(', ')}\n`)
    process.exit(1)
  }
}
