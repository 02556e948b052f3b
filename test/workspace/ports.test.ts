// The native stack's fixed ports must stay out of the kernel's ephemeral range: an outgoing
// connection (or its TIME_WAIT) may hold any port in it, and a server started there fails with
// EADDRINUSE — the gateway did so once in CI, one run in many.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

const root = new URL('../../', import.meta.url)

test('every port of scripts/infra/ports.env (and those Consul derives from its own) is below the ephemeral range', () => {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
  const ports = readFileSync(new URL('scripts/infra/ports.env', root), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_0-9]+_PORT=/.test(line))
    .map((line) => line.split('=') as [string, string])
  assert.ok(ports.length >= 10, `read ${ports.length} ports`)
  const consul = Number(ports.find(([name]) => name === 'CONSUL_PORT')?.[1])
  // scripts/infra/consul.sh: server -200, serf -199/-198, gRPC +2/+3, DNS +100.
  const derived = [-200, -199, -198, 2, 3, 100].map((d) => [
    `CONSUL_PORT${d > 0 ? '+' : ''}${d}`,
    String(consul + d)
  ])
  const inRange = [...ports, ...derived].filter(([, port]) => Number(port) >= low!)
  assert.deepEqual(inRange, [], `ports at or above ${low}, where outgoing connections take theirs`)
})
