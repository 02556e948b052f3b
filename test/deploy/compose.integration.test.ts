// What `docker-compose config` can't check about docker-compose.yml (+ the override with the
// observability extras): health checks, memory limits and the budget, declared dependencies,
// ports, versions matching the native stack. Plus the Dockerfile's lint and its builds, and
// the topic job's parsing of deploy/kafka/topics.json.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'

import { manifests } from '../../scripts/services.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const MiB = 1024 * 1024
const SERVICES = manifests().map((m) => m.name)

interface ComposeService {
  image?: string
  build?: { dockerfile?: string; args?: Record<string, string> }
  healthcheck?: { test: string[] | string }
  mem_limit?: string | number
  restart?: string
  depends_on?: Record<string, { condition: string }>
  environment?: Record<string, string>
  ports?: Array<string | { published: string | number }>
  read_only?: boolean
  user?: string
}

async function resolved(...files: string[]): Promise<Record<string, ComposeService>> {
  const args = files.flatMap((f) => ['-f', f])
  const { stdout } = await run('docker-compose', [...args, 'config'], { cwd: root })
  return (parse(stdout) as { services: Record<string, ComposeService> }).services
}

function bytes(limit: string | number | undefined): number {
  if (typeof limit === 'number') return limit
  const m = /^(\d+)([kmg]?)b?$/i.exec(limit ?? '')
  assert.ok(m, `a memory limit like 128m, got ${limit}`)
  return (
    Number(m[1]) *
    ({ '': 1, k: 1024, m: MiB, g: 1024 * MiB } as const)[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g']
  )
}

async function envFile(path: string): Promise<Record<string, string>> {
  const text = await readFile(join(root, path), 'utf8')
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_0-9]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])
  )
}

test('docker-compose validates the full stack and the core alone', async () => {
  await run('docker-compose', ['config', '-q'], { cwd: root })
  await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: root })
})

test('compose: health checks, memory limits within budget, dependencies declared, ports distinct', async () => {
  const full = await resolved('docker-compose.yml', 'docker-compose.override.yml')
  const core = await resolved('docker-compose.yml')
  for (const [name, service] of Object.entries(full)) {
    assert.ok(service.mem_limit, `${name} has a memory limit`)
    assert.ok(service.restart, `${name} has a restart policy`)
    if (service.restart === 'no') {
      // A one-shot job: whoever needs it waits for it to complete.
      const waiting = Object.values(full).filter((s) => s.depends_on?.[name])
      assert.ok(waiting.length > 0, `${name} is a job something waits for`)
      for (const s of waiting) assert.equal(s.depends_on![name]!.condition, 'service_completed_successfully')
    } else {
      assert.ok(service.healthcheck?.test, `${name} has a healthcheck`)
    }
    // Every other service it talks to (by host name in its settings) is a declared dependency.
    const settings = Object.values(service.environment ?? {}).join(' ')
    for (const other of Object.keys(full)) {
      if (other === name || !new RegExp(`(^|[/@\\s])${other}:\\d`).test(settings)) continue
      assert.ok(service.depends_on?.[other], `${name} talks to ${other}, so depends on it`)
    }
    for (const dep of Object.keys(service.depends_on ?? {}))
      assert.ok(full[dep], `${name} depends on ${dep}, which exists`)
  }
  const published = Object.values(full).flatMap((s) =>
    (s.ports ?? []).map((p) => (typeof p === 'string' ? p.split(':').at(-2) : String(p.published)))
  )
  assert.equal(new Set(published).size, published.length, `host ports collide: ${published.join(', ')}`)

  // At the peak: every long-running container, and the largest one-shot job (jobs finish before
  // what waits for them starts).
  const sum = (services: Record<string, ComposeService>) => {
    const all = Object.values(services)
    const jobs = all.filter((s) => s.restart === 'no').map((s) => bytes(s.mem_limit))
    return (
      all.filter((s) => s.restart !== 'no').reduce((total, s) => total + bytes(s.mem_limit), 0) +
      Math.max(0, ...jobs)
    )
  }
  assert.ok(sum(full) <= 3 * 1024 * MiB, `full stack limits ${sum(full) / MiB} MiB > 3 GiB`)
  assert.ok(sum(core) <= 2 * 1024 * MiB, `core limits ${sum(core) / MiB} MiB > 2 GiB`)
  for (const extra of ['grafana', 'jaeger', 'otel-collector']) {
    assert.ok(full[extra], `${extra} is in the full stack`)
    assert.equal(core[extra], undefined, `${extra} is left out of the core`)
  }
  // The platform's services: read-only, non-root, gateway twice behind the edge.
  const instances = manifests().flatMap((m) => (m.edge ? [`${m.name}-1`, `${m.name}-2`] : [m.name]))
  for (const name of instances) {
    assert.equal(full[name]!.read_only, true, `${name} read-only`)
    assert.equal(full[name]!.user, '1000:1000', `${name} non-root`)
  }
  assert.equal(full.edge!.environment!.EDGE_GATEWAYS, 'gateway-1:3000 gateway-2:3000')
})

test('compose runs the versions of the native stack', async () => {
  const env = await envFile('.env')
  const versions = await envFile('scripts/infra/versions.env')
  const nvmrc = (await readFile(join(root, '.nvmrc'), 'utf8')).trim()
  assert.equal(env.KAFKA_IMAGE, `apache/kafka:${versions.KAFKA_VERSION}`)
  assert.equal(env.CONSUL_IMAGE, `hashicorp/consul:${versions.CONSUL_VERSION}`)
  assert.equal(env.PROMETHEUS_IMAGE, `prom/prometheus:v${versions.PROMETHEUS_VERSION}`)
  assert.equal(env.NODE_BASE_IMAGE, `node:${nvmrc}-bookworm-slim`)
  // Debian 12's PostgreSQL 15, Redis 7.0 and NGINX 1.22 natively: the same lines in compose.
  const debian = await run('bash', [
    '-c',
    'postgres_v=$(/usr/lib/postgresql/15/bin/postgres -V); redis-server -v; nginx -v 2>&1; echo $postgres_v'
  ])
  assert.match(env.POSTGRES_IMAGE!, /^postgres:15\.\d+-bookworm$/)
  assert.match(
    debian.stdout,
    new RegExp(`PostgreSQL\\) ${env.POSTGRES_IMAGE!.split(':')[1]!.split('-')[0]!.replace('.', '\\.')}`)
  )
  assert.match(
    debian.stdout,
    new RegExp(`v=${env.REDIS_IMAGE!.split(':')[1]!.split('-')[0]!.replaceAll('.', '\\.')} `)
  )
  assert.match(debian.stdout, new RegExp(`nginx/${env.NGINX_IMAGE!.split(':')[1]!.replaceAll('.', '\\.')}`))
})

test('one Dockerfile for every service (and one for the edge): hadolint passes, compose builds each from it', async () => {
  await run('hadolint', ['Dockerfile', 'apps/web/Dockerfile'], { cwd: root })
  const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8')
  assert.match(dockerfile, /^ARG BASE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m) // pinned, swappable
  assert.match(dockerfile, /^ARG SERVICE$/m)
  assert.match(dockerfile, /^USER 1000:1000$/m)
  assert.match(dockerfile, /^HEALTHCHECK .*\n.*\/health\/live/m)
  assert.match(dockerfile, /org\.opencontainers\.image\.title/)
  assert.match(dockerfile, /^CMD \["node", /m) // exec form: node is PID 1 and gets SIGTERM
  const services = await resolved('docker-compose.yml', 'docker-compose.override.yml')
  // The edge: NGINX (the version compose pins) with the web app's files.
  assert.equal(services.edge!.build!.dockerfile, 'apps/web/Dockerfile')
  assert.equal(services.edge!.build!.args!.NGINX_IMAGE, (await envFile('.env')).NGINX_IMAGE)
  const built = Object.entries(services)
    .filter(([name, s]) => s.build && name !== 'edge')
    .map(([, s]) => s.build!)
  assert.ok(built.length >= SERVICES.length)
  for (const build of built) {
    assert.equal(build.dockerfile ?? 'Dockerfile', 'Dockerfile')
    assert.ok(SERVICES.includes(build.args!.SERVICE!), `a service's manifest: ${build.args!.SERVICE}`)
  }
})

test('the topic job creates every topic of deploy/kafka/topics.json with its partitions', async (t) => {
  const bin = await mkdtemp(join(tmpdir(), 'kafka-bin-'))
  t.after(() => rm(bin, { recursive: true, force: true }))
  await writeFile(join(bin, 'kafka-topics.sh'), '#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n')
  await chmod(join(bin, 'kafka-topics.sh'), 0o755)
  await run('sh', ['deploy/kafka/create-topics.sh', 'kafka:9092', 'deploy/kafka/topics.json'], {
    cwd: root,
    env: { ...process.env, KAFKA_BIN: bin }
  })
  const [wait, ...calls] = (await readFile(join(bin, 'calls'), 'utf8')).trim().split('\n')
  assert.equal(wait, '--bootstrap-server kafka:9092 --list') // waits for the broker first
  const topics = (
    JSON.parse(await readFile(join(root, 'deploy/kafka/topics.json'), 'utf8')) as {
      topics: Array<{ name: string }>
    }
  ).topics
  assert.equal(calls.length, topics.length)
  for (const [i, topic] of topics.entries()) {
    assert.match(
      calls[i]!,
      new RegExp(
        `--bootstrap-server kafka:9092 --create --if-not-exists --topic ${topic.name.replaceAll('.', '\\.')} --partitions 3 `
      )
    )
  }
})
