// npm run test:faults — faults injected into the running platform (npm run up) while real traffic
// flows through the edge; after each, the platform must settle by itself and every invariant of
// invariants.ts must hold. Each scenario prints a line; all are written to
// bench-results/faults-latest.json. Bounded: each scenario's fault and settling have fixed limits.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { JWK } from 'jose'
import { platform, stack } from '@platform/testing'
import { api, signToken } from '../support/story.ts'
import { checkInvariants, waitSettled, type Invariant } from './invariants.ts'
import { duplicatesAndPoison, streamFlood, type Fault } from './injected.ts'
import { overload } from './overload.ts'
import { catalogProxy } from './toxiproxy.ts'
import { startTraffic, type TrafficReport } from './traffic.ts'
import { manifests } from '../../scripts/services.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const INSTANCES = { catalog: 1, order: 1, notification: 1, gateway: 2 }
const INITIAL_STOCK = 100_000

async function sh(script: string, ...args: string[]): Promise<void> {
  await run('bash', [`${root}scripts/${script}`, ...args], { cwd: root, timeout: 240_000 }).catch(
    (err: { stderr?: string }) => {
      throw new Error(
        `scripts/${script} ${args.join(' ')} failed:\n${(err.stderr ?? '').split('\n').slice(-25).join('\n')}`
      )
    }
  )
}

interface Outcome {
  scenario: string
  faultSeconds: number
  sent: number
  byStatus: Record<string, number>
  otherThan503: number
  refused: Record<string, number>
  placed: number
  abandoned: number
  settledInSeconds: number | null
  invariants: Invariant[]
  figures?: unknown
}
const outcomes: Outcome[] = []
let jwk: JWK
const products: string[] = []
let startedHere = false

before(async () => {
  const up = await run('bash', [platform.script, 'status'], { cwd: root }).then(
    () => true,
    () => false
  )
  if (!up) {
    startedHere = true
    await sh('platform.sh', 'up')
  }
  jwk = JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as JWK
  // Products of this run only, with a known stock: the stock invariant is exact for them.
  const admin = await signToken(jwk, { sub: 'faults-admin', roles: ['admin'] })
  for (let i = 0; i < 3; i++) {
    const created = await api<{ id: string }>(platform.edge, '/api/v1/products', {
      method: 'POST',
      token: admin,
      body: JSON.stringify({
        sku: `FAULTS-${randomUUID().slice(0, 8)}`,
        name: `Fault run product ${i}`,
        priceMinor: 1000 + i,
        currency: 'EUR',
        stock: INITIAL_STOCK
      })
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    products.push(created.body.id)
  }
})

after(async () => {
  const lines = outcomes.map(
    (o) =>
      `${o.scenario.padEnd(34)} ${String(o.sent).padStart(6)} sent  ${JSON.stringify(o.byStatus).padEnd(42)} ` +
      `5xx≠503 ${o.otherThan503}  placed ${o.placed}  settled ${o.settledInSeconds ?? '—'} s  ` +
      `${
        o.invariants.every((i) => i.ok)
          ? 'all invariants hold'
          : 'FAILED: ' +
            o.invariants
              .filter((i) => !i.ok)
              .map((i) => i.name)
              .join(', ')
      }`
  )
  // Which limit refused the traffic's own requests, where there were 429s.
  const limited = outcomes
    .map((o) => [o.scenario, Object.entries(o.refused).filter(([what]) => what.startsWith('429'))] as const)
    .filter(([, refused]) => refused.length > 0)
    .map(([scenario, refused]) => `  ${scenario}: ${refused.map(([what, n]) => `${n} × ${what}`).join(', ')}`)
  process.stdout.write(
    `\nfault scenarios\n${lines.join('\n')}\n${limited.length ? `429s by code and route:\n${limited.join('\n')}\n` : ''}`
  )
  await mkdir(`${root}bench-results`, { recursive: true })
  await writeFile(
    `${root}bench-results/faults-latest.json`,
    JSON.stringify({ at: new Date().toISOString(), outcomes }, null, 2)
  )
  if (startedHere) await sh('platform.sh', 'down')
})

/**
 * One scenario: traffic for a few seconds, the fault for `faultMs`, its end, traffic a few seconds
 * more, then the platform settles (bounded) and every invariant is checked.
 */
async function scenario(name: string, faultMs: number, fault: Fault) {
  const traffic = startTraffic({
    edge: platform.edge,
    jwk,
    products,
    customers: Array.from({ length: 6 }, (_, i) => `faults-customer-${i}`)
  })
  let report: TrafficReport
  try {
    await sleep(3000)
    await fault.inject()
    await sleep(faultMs)
  } finally {
    await fault.heal()
    await sleep(5000)
    report = await traffic.stop()
  }
  const settledMs = await waitSettled(report.placed, products, INSTANCES, 120_000)
  const stock = new Map(products.map((id) => [id, INITIAL_STOCK]))
  const invariants = [
    ...(await checkInvariants(report, stock, INSTANCES)),
    ...((await fault.check?.(report)) ?? [])
  ]
  outcomes.push({
    scenario: name,
    faultSeconds: faultMs / 1000,
    sent: report.sent,
    byStatus: report.byStatus,
    otherThan503: report.unexpected.length,
    refused: report.refused,
    placed: report.placed.length,
    abandoned: report.abandoned,
    settledInSeconds: settledMs === undefined ? null : Math.round(settledMs / 100) / 10,
    invariants,
    figures: fault.figures?.()
  })
  assert.ok(report.placed.length > 0, 'orders were placed during the scenario')
  for (const invariant of invariants) assert.ok(invariant.ok, `${invariant.name}: ${invariant.detail}`)
}

const nothing: Fault = { inject: async () => {}, heal: async () => {} }
// A server of the native stack stopped, then started again.
const infra = (server: string): Fault => ({
  inject: () => sh('infra.sh', 'down', server),
  heal: () => sh('infra.sh', 'up', server)
})
// A process of the platform SIGKILLed (a crash), then started again.
const crash = (app: string): Fault => ({
  inject: () => sh('platform.sh', 'kill', app),
  heal: () => sh('platform.sh', 'start', app)
})
// A process frozen (SIGSTOP): it holds its connections and its registration but answers nothing.
const freeze = (app: string): Fault => ({
  inject: () => sh('platform.sh', 'pause', app),
  heal: () => sh('platform.sh', 'resume', app)
})
// A server that silently stops answering: its packets are dropped on the loopback interface, so
// open connections hang and new ones time out (unlike a stopped server, which refuses them).
const DROP = (port: number) => ['INPUT', '-i', 'lo', '-p', 'tcp', '--dport', String(port), '-j', 'DROP']
const unreachable = (port: number): Fault => ({
  inject: () => run('iptables', ['-I', ...DROP(port)]).then(() => undefined),
  heal: () => run('iptables', ['-D', ...DROP(port)]).then(() => undefined)
})
// Every process restarted gracefully, one after the other, as a deploy does; nothing may fail.
const ROLLED = manifests().flatMap((m) => (m.edge ? [m.name, `${m.name}-2`] : [m.name]))
const rollingRestart: Fault = {
  inject: () => sh('platform.sh', 'roll', ...ROLLED),
  heal: async () => {},
  check: async (report) => {
    const failed = Object.entries(report.byStatus).filter(
      ([status]) => status === 'no answer' || Number(status) >= 500
    )
    return [
      {
        name: 'a rolling restart of every process fails no request',
        ok: failed.length === 0,
        detail: failed.length
          ? `${JSON.stringify(Object.fromEntries(failed))} ${JSON.stringify(report.refused)}`
          : `${report.sent} requests`
      }
    ]
  }
}
const flooder = () => signToken(jwk, { sub: 'faults-flooder', exp: Math.floor(Date.now() / 1000) + 3600 })

const SCENARIOS: Array<[test: string, row: string, faultMs: number, fault: Fault | (() => Fault)]> = [
  ['baseline: no fault', 'baseline (no fault)', 5000, nothing],
  ['PostgreSQL restarted', 'PostgreSQL restarted', 1000, infra('postgres')],
  ['Consul restarted (it comes back empty)', 'Consul restarted, empty', 1000, infra('consul')],
  ['Redis down for 10 s', 'Redis down 10 s', 10_000, infra('redis')],
  ['the catalog SIGKILLed, restarted 5 s later', 'catalog SIGKILLed, restarted', 5000, crash('catalog')],
  ['the order service SIGKILLed, restarted 5 s later', 'order SIGKILLed, restarted', 5000, crash('order')],
  [
    'the notification service SIGKILLed, restarted 5 s later',
    'notification SIGKILLed, restarted',
    5000,
    crash('notification')
  ],
  ['a gateway SIGKILLed, restarted 5 s later', 'gateway SIGKILLed, restarted', 5000, crash('gateway')],
  ['the catalog frozen (SIGSTOP) for 10 s', 'catalog frozen 10 s', 10_000, freeze('catalog')],
  ['the SMTP server down for 20 s', 'SMTP server down 20 s', 20_000, crash('mail')],
  ['the Kafka broker restarted', 'Kafka restarted', 1000, infra('kafka')],
  ['the Kafka broker stopped for 90 s', 'Kafka stopped 90 s', 90_000, infra('kafka')],
  [
    'PostgreSQL unreachable for 90 s (packets dropped)',
    'PostgreSQL unreachable 90 s',
    90_000,
    unreachable(stack.postgres.port)
  ],
  ['every process rolled one by one under load', 'rolling restart of every process', 0, rollingRestart],
  [
    'load at 150 % of the capacity measured in the same run',
    'load at 150 % of capacity',
    0,
    () => overload({ edge: platform.edge, jwk, products })
  ],
  [
    'one caller opens 200 notification streams at once',
    'one caller opens 200 streams',
    10_000,
    () => streamFlood(platform.edge, flooder, 200, INSTANCES.gateway)
  ],
  [
    'every event delivered three times, malformed messages mixed in',
    'events duplicated, poison mixed in',
    15_000,
    () => duplicatesAndPoison(stack.kafka.brokers, ['order.events', 'catalog.events'])
  ]
]

for (const [name, row, faultMs, fault] of SCENARIOS) {
  test(name, () => scenario(row, faultMs, typeof fault === 'function' ? fault() : fault))
}

describe('the catalog behind Toxiproxy', () => {
  const proxy = catalogProxy((env) =>
    run('bash', [platform.script, 'roll', 'catalog'], { cwd: root, env: { ...process.env, ...env } }).then(
      () => undefined
    )
  )
  before(() => proxy.start())
  after(() => proxy.stop())

  test('a slow catalog: 600 ± 300 ms added to every answer for 15 s', () =>
    scenario(
      'catalog slow (+600 ± 300 ms) 15 s',
      15_000,
      proxy.fault([
        { name: 'slow', type: 'latency', stream: 'downstream', attributes: { latency: 600, jitter: 300 } }
      ])
    ))
  test('a partitioned catalog: nothing gets through to it or back for 30 s', () =>
    scenario(
      'catalog partitioned 30 s',
      30_000,
      proxy.fault([
        { name: 'cut-up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } },
        { name: 'cut-down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } }
      ])
    ))
})
