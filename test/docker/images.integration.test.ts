// Every service image, built on the local Docker engine (scripts/docker/images.sh, on the stand-in
// base image), runs as its non-root user with a read-only root filesystem against the native
// infrastructure, answers /health/ready, and stops cleanly on SIGTERM within the grace period.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { exportJWK, generateKeyPair } from 'jose'
import { eventually, freePort, scratchSchema, scratchTopics, smtpSink, stack } from '@platform/testing'

import { manifests } from '../../scripts/services.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const SERVICES = manifests().map((m) => m.name)

before(async () => {
  if (process.env.SKIP_IMAGE_BUILD === '1') return // images built already (while iterating on this file)
  // Builds all four (about a minute each; the base image once).
  await run('bash', ['scripts/docker/images.sh'], {
    cwd: root,
    timeout: 20 * 60_000,
    maxBuffer: 16 * 1024 * 1024
  })
})

test('each image: under 250 MB, non-root, OCI labels, a health check on /health/live', async () => {
  const { sizes } = JSON.parse(await readFile(`${root}bench-results/images-latest.json`, 'utf8')) as {
    sizes: Record<string, number>
  }
  for (const service of SERVICES) {
    const { stdout } = await run('docker', ['image', 'inspect', `platform/${service}:dev`])
    const [image] = JSON.parse(stdout) as Array<{
      Size: number
      Config: {
        User: string
        Healthcheck?: { Test: string[] }
        Labels: Record<string, string>
        Env: string[]
      }
    }>
    assert.equal(image!.Size, sizes[service])
    assert.ok(image!.Size < 250_000_000, `platform/${service} is ${(image!.Size / 1e6).toFixed(0)} MB`)
    assert.equal(image!.Config.User, '1000:1000')
    assert.match(image!.Config.Healthcheck!.Test.join(' '), /\/health\/live/)
    assert.equal(image!.Config.Labels['org.opencontainers.image.title'], `platform-${service}`)
    assert.ok(image!.Config.Labels['org.opencontainers.image.revision'])
    assert.ok(image!.Config.Env.includes('NODE_ENV=production'))
  }
})

// Every package an image carries, as name@version: each folder under a node_modules that has a
// package.json, workspace links left out (they are the platform's own code).
const LIST_PACKAGES = `
const { readdirSync, readFileSync, lstatSync } = require('node:fs')
const found = new Set()
function walk(dir) {
  let names = []
  try { names = readdirSync(dir) } catch { return }
  for (const name of names) {
    if (name.startsWith('.')) continue
    const path = dir + '/' + name
    if (name.startsWith('@')) { walk(path); continue }
    if (lstatSync(path).isSymbolicLink()) continue
    try {
      const pkg = JSON.parse(readFileSync(path + '/package.json', 'utf8'))
      found.add(pkg.name + '@' + pkg.version)
    } catch {}
    walk(path + '/node_modules')
  }
}
walk('/app/node_modules')
for (const d of readdirSync('/app/libs')) walk('/app/libs/' + d + '/node_modules')
walk(process.cwd() + '/node_modules')
console.log(JSON.stringify([...found]))`

interface Component {
  name: string
  group?: string
  version: string
  components?: Component[]
}

test('each image has a CycloneDX SBOM naming every package it carries, at that version, and no dev tool', async () => {
  for (const service of SERVICES) {
    const bom = JSON.parse(await readFile(`${root}dist/sbom/platform-${service}.cdx.json`, 'utf8')) as {
      bomFormat: string
      specVersion: string
      components: Component[]
    }
    assert.equal(bom.bomFormat, 'CycloneDX')
    const listed = new Set<string>()
    const walk = (list: Component[] = []) => {
      for (const c of list) {
        listed.add(`${c.group ? `${c.group}/` : ''}${c.name}@${c.version}`)
        walk(c.components)
      }
    }
    walk(bom.components)
    const { stdout } = await run('docker', [
      'run',
      '--rm',
      '--entrypoint',
      'node',
      `platform/${service}:dev`,
      '-e',
      LIST_PACKAGES
    ])
    const carried = JSON.parse(stdout) as string[]
    assert.ok(carried.length > 20, `platform/${service} carries ${carried.length} packages`)
    assert.deepEqual(
      carried.filter((p) => !listed.has(p)),
      [],
      `platform/${service}: packages in the image but not in its SBOM`
    )
    for (const tool of ['typescript', 'eslint', 'nx', '@cyclonedx/cyclonedx-npm'])
      assert.ok(![...listed].some((p) => p.startsWith(`${tool}@`)), `${service}: ${tool} is a dev tool`)
  }
})

async function envFor(service: string, port: number, prefix: string): Promise<Record<string, string>> {
  const base = {
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info', // the shutdown's steps are logged at info
    KAFKA_BROKERS: stack.kafka.brokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    CONSUL_URL: stack.consul.url,
    REDIS_URL: `redis://${stack.redis.host}:${stack.redis.port}`
  }
  if (service === 'gateway') {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true })
    return {
      ...base,
      JWT_JWKS: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] })
    }
  }
  const database = manifests().find((m) => m.name === service)!.database
  if (!database) return base
  const schema = await scratchSchema(database)
  return { ...base, DATABASE_URL: schema.url, SCHEMA_DROP: schema.schema }
}

for (const service of SERVICES) {
  test(`platform/${service}: read-only and non-root against the native stack; ready; SIGTERM → exit 0`, async (t) => {
    const prefix = `img${randomUUID().slice(0, 6)}.`
    const topics = await scratchTopics(
      ['order.events', 'order.events.dlq', 'catalog.events', 'catalog.events.dlq'].map((n) => prefix + n)
    )
    t.after(topics.drop)
    const port = await freePort()
    const env = await envFor(service, port, prefix)
    if (service === 'notification') {
      const smtp = await smtpSink()
      t.after(() => smtp.stop())
      env.SMTP_URL = smtp.url
    }
    const name = `platform-test-${service}-${port}`
    const envArgs = Object.entries(env)
      .filter(([k]) => k !== 'SCHEMA_DROP')
      .flatMap(([k, v]) => ['-e', `${k}=${v}`])
    // Host networking: the container's servers listen on 127.0.0.1 like the native stack's.
    await run('docker', [
      'run',
      '-d',
      '--name',
      name,
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--network',
      'host',
      ...envArgs,
      `platform/${service}:dev`
    ])
    t.after(() => run('docker', ['rm', '-f', name]).catch(() => undefined))

    await eventually(60_000, `${service} ready`, async () =>
      (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status === 200
        ? true
        : undefined
    )
    const { stdout: user } = await run('docker', ['exec', name, 'id', '-u'])
    assert.equal(user.trim(), '1000')
    const write = await run('docker', ['exec', name, 'sh', '-c', 'touch /app/x 2>&1 || echo refused'])
    assert.match(write.stdout, /Read-only file system|refused/)

    const started = Date.now()
    await run('docker', ['stop', '--time', '15', name])
    const stoppedInMs = Date.now() - started
    const { stdout: state } = await run('docker', [
      'inspect',
      '-f',
      '{{.State.ExitCode}} {{.State.OOMKilled}}',
      name
    ])
    assert.equal(state.trim(), '0 false', 'SIGTERM ran the graceful shutdown and exited 0')
    assert.ok(stoppedInMs < 15_000, `stopped in ${stoppedInMs} ms, within the grace period`)
    const { stdout: logs } = await run('docker', ['logs', name])
    assert.match(logs, /deregistered from consul/)
    if (env.SCHEMA_DROP) {
      const db = { catalog: 'catalog', order: 'orders', notification: 'notifications' } as const
      const pg = await import('pg')
      const { databaseUrl } = await import('@platform/testing')
      const client = new pg.default.Client({ connectionString: databaseUrl(db[service as 'catalog']) })
      await client.connect()
      await client.query(`DROP SCHEMA ${env.SCHEMA_DROP} CASCADE`)
      await client.end()
    }
  })
}
