// The Helm chart on a real Kubernetes node (npm run test:deploy starts it with scripts/cluster.sh
// up — the kind profile, as scripts/kind-up.sh installs it — and tears it down after): every pod
// Ready in a namespace that enforces the "restricted" Pod Security Standard, the story through the
// edge's NodePort, a gateway pod deleted and a chart upgrade rolled under a GET loop without a
// failed request, default-deny NetworkPolicies enforced, and every Grafana panel answered.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { readFile, readlink } from 'node:fs/promises'
import { test, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { JWK } from 'jose'
import { eventually, platform } from '@platform/testing'
import { assertObservable } from '../support/dashboards.ts'
import { driveTraffic, readLoopDuring, signToken, storyTests } from '../support/story.ts'
import { manifests } from '../../scripts/services.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const namespace = 'platform'
const edge = `http://${process.env.CLUSTER_NODE_IP ?? '10.254.254.1'}:30080`

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', ['scripts/cluster.sh', 'kubectl', ...args], {
    cwd: root,
    timeout: 600_000,
    maxBuffer: 32 * 1024 * 1024
  })
  return stdout
}

/** kubectl's failure message, for what must be refused. */
async function kubectlFails(input: string, ...args: string[]): Promise<string> {
  const child = spawn('bash', ['scripts/cluster.sh', 'kubectl', ...args], { cwd: root })
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  child.stdin.end(input)
  const code = await new Promise((resolve) => child.once('exit', resolve))
  assert.notEqual(code, 0, `kubectl ${args.join(' ')} succeeded: ${out}`)
  return out
}

/** `kubectl port-forward` to a Service for the test `t`; resolves with the local URL. */
async function portForward(t: TestContext, service: string, port: number): Promise<string> {
  const child = spawn(
    'bash',
    ['scripts/cluster.sh', 'kubectl', '-n', namespace, 'port-forward', `svc/${service}`, `:${port}`],
    {
      cwd: root
    }
  )
  t.after(() => child.kill())
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve(`http://127.0.0.1:${m[1]}`)
    })
    child.once('exit', (code) => reject(new Error(`port-forward to ${service} exited (${code}): ${out}`)))
  })
}

interface Pod {
  metadata: { name: string; labels: Record<string, string> }
  spec: { containers: Array<{ image: string }> }
  status: { phase: string; conditions?: Array<{ type: string; status: string }> }
}
async function pods(selector?: string): Promise<Pod[]> {
  const out = await kubectl(
    '-n',
    namespace,
    'get',
    'pods',
    '-o',
    'json',
    ...(selector ? ['-l', selector] : [])
  )
  return (JSON.parse(out) as { items: Pod[] }).items
}
const ready = (pod: Pod) =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false

async function gatewaysReady(): Promise<void> {
  await kubectl('-n', namespace, 'rollout', 'status', 'deployment/gateway', '--timeout=180s')
  await eventually(60_000, 'two gateway pods Ready', async () => {
    const gateways = await pods('app.kubernetes.io/name=gateway')
    return gateways.length === 2 && gateways.every(ready) ? true : undefined
  })
}

test('every pod is Ready (or a job that completed), in a namespace enforcing "restricted"', async () => {
  const ns = JSON.parse(await kubectl('get', 'namespace', namespace, '-o', 'json')) as {
    metadata: { labels: Record<string, string> }
  }
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted')
  const all = await pods()
  const names = new Set(all.map((p) => p.metadata.labels['app.kubernetes.io/name']))
  for (const name of [
    'edge',
    'gateway',
    'catalog',
    'order',
    'notification',
    'postgres',
    'redis',
    'kafka',
    'consul',
    'prometheus',
    'mailpit'
  ])
    assert.ok(names.has(name), `no ${name} pod`)
  for (const pod of all) {
    if (pod.status.phase === 'Succeeded') continue
    assert.ok(ready(pod), `${pod.metadata.name} is not Ready (${pod.status.phase})`)
  }
})

test('the API refuses a pod that breaks the restricted profile', async () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'not-restricted', namespace },
    // No security context at all: the image's defaults (root allowed, every capability kept).
    spec: { containers: [{ name: 'plain', image: 'platform/gateway:dev' }] }
  }
  const said = await kubectlFails(JSON.stringify(pod), 'create', '-f', '-')
  assert.match(said, /violates PodSecurity "restricted:latest"/)
  for (const rule of [
    'allowPrivilegeEscalation != false',
    'unrestricted capabilities',
    'runAsNonRoot != true',
    'seccompProfile'
  ])
    assert.ok(said.includes(rule), `${rule}: ${said}`)
})

storyTests({
  edge,
  mail: (t) => portForward(t, 'mailpit', 8025),
  signingKey: async () => JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as JWK,
  loseGateway: async () => {
    const [first] = await pods('app.kubernetes.io/name=gateway')
    await kubectl('-n', namespace, 'delete', 'pod', first!.metadata.name, '--wait=false')
  },
  restoreGateway: gatewaysReady
})

/** Runs a one-off pod in the namespace (restricted-compliant) and returns what it printed. */
async function probe(name: string, labels: Record<string, string>, script: string): Promise<string> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'probe',
          image: 'platform/gateway:dev',
          imagePullPolicy: 'Never',
          command: ['node', '-e', script],
          resources: { limits: { cpu: '200m', memory: '64Mi' } },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] }
          }
        }
      ]
    }
  }
  const child = spawn('bash', ['scripts/cluster.sh', 'kubectl', 'create', '-f', '-'], { cwd: root })
  child.stdin.end(JSON.stringify(pod))
  assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0)
  try {
    await eventually(90_000, `${name} finished`, async () => {
      const phase = (
        await kubectl('-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.phase}')
      ).trim()
      return phase === 'Succeeded' || phase === 'Failed' ? phase : undefined
    })
    return await kubectl('-n', namespace, 'logs', name)
  } finally {
    await kubectl('-n', namespace, 'delete', 'pod', name, '--wait=false')
  }
}

// Connects to each host:port and prints one line per target: "host:port open" or "… closed (code)".
const connectScript = (targets: string[]) => `
const net = require('node:net')
const check = (t) => new Promise((resolve) => {
  const [host, port] = t.split(':'); const s = net.connect({ host, port: Number(port), timeout: 3000 })
  s.once('connect', () => { s.destroy(); resolve(t + ' open') })
  s.once('timeout', () => { s.destroy(); resolve(t + ' closed (timeout)') })
  s.once('error', (e) => resolve(t + ' closed (' + e.code + ')'))
})
Promise.all(${JSON.stringify(targets)}.map(check)).then((lines) => console.log(lines.join('\\n')))`

test('NetworkPolicies: default deny holds for a pod nothing allows; the allowed paths stay open', async () => {
  const stranger = await probe(
    'np-stranger',
    { 'app.kubernetes.io/name': 'stranger' },
    connectScript(['postgres:5432', 'catalog:3001', 'redis:6379'])
  )
  assert.match(stranger, /postgres:5432 closed/)
  assert.match(stranger, /catalog:3001 closed/)
  assert.match(stranger, /redis:6379 closed/)
  // The same check from the gateway's own pod: it may call the catalog and Redis, not Postgres.
  const [gateway] = await pods('app.kubernetes.io/name=gateway')
  const fromGateway = await kubectl(
    '-n',
    namespace,
    'exec',
    gateway!.metadata.name,
    '--',
    'node',
    '-e',
    connectScript(['catalog:3001', 'redis:6379', 'postgres:5432'])
  )
  assert.match(fromGateway, /catalog:3001 open/)
  assert.match(fromGateway, /redis:6379 open/)
  assert.match(fromGateway, /postgres:5432 closed/)
})

test('the edge sees each client’s own address through the NodePort (not one NATed address for all)', async (t) => {
  // A client on a network of its own: a network namespace held by a process (not `ip netns add`,
  // which turns /run/netns into a shared mount that outlives the test), with a veth to this host.
  // Its traffic to the NodePort is routed, not local, so only the Service's policy decides whether
  // it is NATed.
  const holder = spawn('unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' })
  t.after(() => holder.kill())
  const pid = String(holder.pid)
  const own = await readlink('/proc/self/ns/net')
  await eventually(5000, 'the namespace of its own', async () =>
    (await readlink(`/proc/${pid}/ns/net`).catch(() => own)) !== own ? true : undefined
  )
  const ip = (...args: string[]) => run('ip', args)
  const inside = (...args: string[]) => run('nsenter', ['-t', pid, '-n', ...args])
  const [hostSide, clientSide] = [`cl${process.pid}h`, `cl${process.pid}c`]
  await ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', clientSide)
  t.after(() => ip('link', 'del', hostSide).catch(() => undefined))
  await ip('link', 'set', clientSide, 'netns', pid)
  await ip('addr', 'add', '10.254.253.1/30', 'dev', hostSide)
  await ip('link', 'set', hostSide, 'up')
  await inside('ip', 'addr', 'add', '10.254.253.2/30', 'dev', clientSide)
  await inside('ip', 'link', 'set', clientSide, 'up')
  await inside('ip', 'route', 'add', 'default', 'via', '10.254.253.1')

  const requestId = `client-address-${process.pid}`
  const { stdout } = await inside(
    'curl',
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--max-time',
    '10',
    '-H',
    `x-request-id: ${requestId}`,
    `${edge}/api/v1/products?limit=1`
  )
  assert.equal(stdout, '200')
  const line = await eventually(20_000, 'the request in the edge log', async () =>
    (await kubectl('-n', namespace, 'logs', 'deployment/edge', '--tail=500'))
      .split('\n')
      .find((l) => l.includes(requestId))
  )
  assert.equal((JSON.parse(line) as { remote_addr: string }).remote_addr, '10.254.253.2')
})

test('the dead-letter queues are listed from inside a service pod with the command the image ships', async () => {
  const out = await kubectl(
    '-n',
    namespace,
    'exec',
    'deployment/order',
    '--',
    'node',
    '/app/libs/messaging/dist/dlq-cli.js',
    'list',
    '--json'
  )
  assert.ok(Array.isArray(JSON.parse(out)), out)
})

test('helm upgrade to a new image tag rolls every service without a failed request', async (t) => {
  const jwk = JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as JWK
  const bearer = await signToken(jwk)
  const tag = `rolled-${Date.now().toString(36)}`
  // The extra tags the upgrade adds to the Docker engine (the cluster's copies go with it).
  t.after(() =>
    run('docker', [
      'rmi',
      ...[...manifests().map((m) => m.name), 'edge'].map((name) => `platform/${name}:${tag}`)
    ]).catch(() => undefined)
  )
  const clients = 2
  const { failures, done, retried } = await readLoopDuring(
    edge,
    bearer,
    async () => {
      await run('bash', ['scripts/cluster.sh', 'install', '--reuse-values', '--set', `image.tag=${tag}`], {
        cwd: root,
        env: { ...process.env, IMAGE_TAG: tag, RETAG_FROM: 'dev' },
        timeout: 900_000
      })
    },
    { clients, settleMs: 2000 }
  )
  // The rollouts are complete (the edge's too: its image carries the web app); the old pods may
  // still be draining (terminating) for a few seconds.
  const images = await eventually(60_000, 'only pods of the new tag', async () => {
    const now = (await pods('app.kubernetes.io/component=service')).flatMap((p) =>
      p.spec.containers.map((c) => c.image)
    )
    return now.length >= 5 && now.every((image) => image.endsWith(`:${tag}`)) ? now : undefined
  })
  assert.ok(images.length >= 5, images.join(', '))
  assert.ok(done > 200, `only ${done} requests were made`)
  assert.deepEqual(failures, [])
  // The one edge pod replaced closes each client's kept-alive connection once at most.
  assert.ok(retried <= clients, `${retried} requests met a closed connection`)
})

test('Prometheus scrapes every service through Consul, and every Grafana panel shows data', async (t) => {
  const prometheus = await portForward(t, 'prometheus', 9090)
  await assertObservable(prometheus, async () =>
    driveTraffic(edge, JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as JWK)
  )
})
