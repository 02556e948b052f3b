// The devcontainer (.devcontainer/devcontainer.json) matches what the scripts expect of a machine:
// Debian 12, the project's Node, a Go new enough for every tool the set-up builds, and the native
// stack's ports forwarded.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { platform, stack } from '@platform/testing'

const root = new URL('../../', import.meta.url)

interface DevContainer {
  image: string
  features: Record<string, { version?: string }>
  postCreateCommand: string
  postStartCommand: string
  forwardPorts: number[]
}

const devcontainer = async () =>
  JSON.parse(await readFile(new URL('.devcontainer/devcontainer.json', root), 'utf8')) as DevContainer
const feature = (d: DevContainer, name: string) =>
  Object.entries(d.features).find(([ref]) => ref.startsWith(`ghcr.io/devcontainers/features/${name}:`))?.[1]
const numbers = (v: string) => v.split('.').map(Number)
const atLeast = (have: string, need: string) => {
  const [a, b] = [numbers(have), numbers(need)]
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  return true
}

test('Debian 12 as on the machines the scripts are tested on, and the Node of .nvmrc', async () => {
  const d = await devcontainer()
  assert.match(d.image, /:bookworm$/)
  const nvmrc = (await readFile(new URL('.nvmrc', root), 'utf8')).trim()
  assert.equal(feature(d, 'node')?.version, nvmrc)
})

test('its Go builds every tool the set-up builds (each go.mod of scripts/infra)', async () => {
  const go = feature(await devcontainer(), 'go')?.version
  assert.ok(go)
  for (const dir of await readdir(new URL('scripts/infra/', root), { withFileTypes: true })) {
    if (!dir.isDirectory()) continue
    const mod = await readFile(new URL(`scripts/infra/${dir.name}/go.mod`, root), 'utf8').catch(() => '')
    const need = /^go (\S+)$/m.exec(mod)?.[1]
    if (need) assert.ok(atLeast(go, need), `${dir.name} needs Go ${need}, the devcontainer has ${go}`)
  }
})

test('set-up on create, the platform on start, the edge, mail sink, Prometheus and Consul forwarded', async () => {
  const d = await devcontainer()
  assert.equal(d.postCreateCommand, 'bash scripts/setup.sh')
  assert.equal(d.postStartCommand, 'npm run up')
  assert.ok(feature(d, 'docker-in-docker'), 'docker compose up works inside too')
  const port = (url: string) => Number(new URL(url).port)
  assert.deepEqual(
    [...d.forwardPorts].sort(),
    [port(platform.edge), port(platform.mail), port(stack.prometheus.url), port(stack.consul.url)].sort()
  )
})
