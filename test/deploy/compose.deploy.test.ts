// The real compose file on the real engine (npm run test:deploy starts it with scripts/compose.sh
// up, on local stand-in images, and takes it down after): the story through the edge on its
// published port, a gateway killed under load, and every Grafana panel's query answered by the
// stack's own Prometheus.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { JWK } from 'jose'
import { eventually } from '@platform/testing'
import { assertObservable } from '../support/dashboards.ts'
import { api, driveTraffic, storyTests } from '../support/story.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const dotEnv = Object.fromEntries(
  readFileSync(`${root}.env`, 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.split('=', 2) as [string, string])
)
const local = (port: string) => `http://127.0.0.1:${port}`
const edge = local(dotEnv.EDGE_PORT!)
const prometheus = local(dotEnv.PROMETHEUS_PORT!)

// The environment without the native stack's ports (scripts/lib.sh exports them, and compose would
// take PROMETHEUS_PORT from there before .env).
const nativePorts = new Set(
  readFileSync(`${root}scripts/infra/ports.env`, 'utf8')
    .split('\n')
    .map((line) => line.split('=')[0]!)
)
const composeEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !nativePorts.has(name))),
  DOCKER_CONFIG: `${root}.tools/docker`
}

async function compose(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['compose', ...args], {
    cwd: root,
    env: composeEnv,
    timeout: 180_000
  })
  return stdout
}

storyTests({
  edge,
  mail: async () => local(dotEnv.MAILPIT_UI_PORT!),
  signingKey: async () =>
    JSON.parse(await compose('exec', '-T', 'gateway-1', 'cat', '/keys/dev-signing-key.json')) as JWK,
  loseGateway: async () => {
    await compose('kill', '-s', 'SIGKILL', 'gateway-2')
  },
  // --no-deps: the one-shot jobs it depends on ran already and must not run again.
  restoreGateway: async () => {
    await compose('up', '--detach', '--wait', '--no-build', '--no-deps', 'gateway-2')
  }
})

test('every container is running and healthy (or a one-shot job that exited 0)', async () => {
  const lines = (await compose('ps', '--all', '--format', 'json')).trim().split('\n')
  const containers = lines.map(
    (l) => JSON.parse(l) as { Service: string; State: string; Health: string; ExitCode: number }
  )
  assert.ok(containers.length >= 14, `${containers.length} containers`)
  for (const c of containers) {
    if (['kafka-topics', 'dev-keys', 'catalog-seed'].includes(c.Service)) {
      assert.equal(c.State, 'exited', c.Service)
      assert.equal(c.ExitCode, 0, c.Service)
    } else {
      assert.equal(c.State, 'running', c.Service)
      assert.equal(c.Health, 'healthy', c.Service)
    }
  }
})

test('after a gateway restart, the edge sends traffic to both gateways again', async () => {
  await compose('restart', 'gateway-2')
  await compose('up', '--detach', '--wait', '--no-build', '--no-deps', 'gateway-2')
  const servedBy = async (gateway: string) => {
    const { body } = await api<{ data: { result: Array<{ value: [number, string] }> } }>(
      prometheus,
      `/api/v1/query?query=${encodeURIComponent(`sum(http_request_duration_seconds_count{job="gateway",instance=~"${gateway}:.*"})`)}`
    )
    return Number(body.data.result[0]?.value[1] ?? 0)
  }
  const before = await servedBy('gateway-2')
  await eventually(60_000, 'gateway-2 serves requests through the edge', async () => {
    await Promise.all(
      Array.from({ length: 20 }, () => api(edge, `/api/v1/products?limit=1&q=${Math.random()}`))
    )
    return (await servedBy('gateway-2')) > before + 5 ? true : undefined
  })
})

test('Prometheus scrapes every service through Consul, and every Grafana panel shows data', async () => {
  await assertObservable(prometheus, async () =>
    driveTraffic(
      edge,
      JSON.parse(await compose('exec', '-T', 'gateway-1', 'cat', '/keys/dev-signing-key.json')) as JWK
    )
  )
})

test('the dead-letter queues are listed from inside a service container with the command the image ships', async () => {
  const out = await compose(
    'exec',
    '-T',
    'order',
    'node',
    '/app/libs/messaging/dist/dlq-cli.js',
    'list',
    '--json'
  )
  assert.ok(Array.isArray(JSON.parse(out)), out)
})
