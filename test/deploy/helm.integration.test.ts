// The Helm chart, checked without a cluster: helm lint and template for every profile, every
// rendered object validated against the Kubernetes 1.34 OpenAPI schemas (kubeconform, strict:
// unknown fields fail), a policy check over every workload, NetworkPolicy selectors, the kind
// profile's footprint, parity with the compose file, and the cluster scripts' prerequisite checks.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse, parseAllDocuments } from 'yaml'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const chart = join(root, 'helm/platform')
const PROFILES = ['default', 'kind', 'minikube', 'production'] as const
const KUBERNETES = '1.34.2'
// A development signing key as kind-up.sh passes it (--set-file: its JSON has commas).
const signingKey = join(tmpdir(), `dev-signing-key-${process.pid}.json`)
await writeFile(
  signingKey,
  JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', alg: 'ES256', kid: 'test' })
)
const tools = (name: string) => join(root, '.tools', 'k8s', name)

type K8sObject = {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string> }
  spec?: Record<string, unknown>
  data?: Record<string, string>
}
interface Container {
  name: string
  env?: Array<{ name: string }>
  envFrom?: Array<{ configMapRef?: { name: string } }>
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  securityContext?: {
    allowPrivilegeEscalation?: boolean
    readOnlyRootFilesystem?: boolean
    capabilities?: { drop?: string[] }
  }
  volumeMounts?: Array<{ name: string; mountPath: string }>
  startupProbe?: { httpGet?: { path: string } }
  livenessProbe?: { httpGet?: { path: string } }
  readinessProbe?: { httpGet?: { path: string } }
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } }
  containers: Container[]
  initContainers?: Container[]
  volumes?: Array<{ name: string; emptyDir?: unknown }>
}
interface PodTemplate {
  metadata: { labels: Record<string, string> }
  spec: PodSpec
}

function valuesArgs(profile: (typeof PROFILES)[number]): string[] {
  const files = profile === 'default' ? [] : ['-f', join(chart, `values-${profile}.yaml`)]
  return [
    '--kube-version',
    KUBERNETES,
    ...files,
    ...(profile === 'production' ? [] : ['--set-file', `devSigningKey=${signingKey}`])
  ]
}

async function render(profile: (typeof PROFILES)[number]): Promise<{ text: string; objects: K8sObject[] }> {
  const { stdout } = await run(
    tools('helm'),
    ['template', 'platform', chart, '-n', 'platform', ...valuesArgs(profile)],
    {
      maxBuffer: 32 * 1024 * 1024
    }
  )
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
  return { text: stdout, objects }
}

function podTemplate(o: K8sObject): PodTemplate | undefined {
  if (o.kind === 'Deployment' || o.kind === 'StatefulSet') return o.spec!.template as PodTemplate
  if (o.kind === 'Job') return o.spec!.template as PodTemplate
  return undefined
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)

function cpu(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q)
}
function memory(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(q)
  assert.ok(m, `a memory quantity, got ${q}`)
  const unit = ({ '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 } as Record<string, number>)[m[2] ?? '']!
  return Number(m[1]) * unit
}

for (const profile of PROFILES) {
  test(`helm lint and kubeconform (Kubernetes 1.34, strict) pass for the ${profile} profile`, async (t) => {
    await run(tools('helm'), ['lint', '--strict', chart, ...valuesArgs(profile)])
    const { text } = await render(profile)
    const dir = await mkdtemp(join(tmpdir(), 'rendered-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    await writeFile(join(dir, 'all.yaml'), text)
    const schemas = join(root, '.tools', 'k8s', 'schemas')
    const { stdout } = await run(tools('kubeconform'), [
      '-strict',
      '-summary',
      '-kubernetes-version',
      KUBERNETES,
      '-schema-location',
      `${schemas}/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      join(dir, 'all.yaml')
    ]).catch((err: { stdout: string }) => assert.fail(err.stdout))
    assert.match(stdout, /Invalid: 0, Errors: 0, Skipped: 0/)
  })

  test(`every workload of the ${profile} profile is hardened, probed, sized and labelled`, async () => {
    const { objects } = await render(profile)
    const workloads = objects.filter((o) => podTemplate(o))
    assert.ok(workloads.length >= 4)
    const required = ['name', 'instance', 'version', 'component', 'part-of', 'managed-by'].map(
      (l) => `app.kubernetes.io/${l}`
    )
    for (const o of objects) {
      for (const label of required)
        assert.ok(o.metadata.labels?.[label], `${o.kind}/${o.metadata.name} has ${label}`)
    }
    for (const o of workloads) {
      const pod = podTemplate(o)!
      const where = `${o.kind}/${o.metadata.name}`
      for (const label of required) assert.ok(pod.metadata.labels[label], `${where} pods have ${label}`)
      assert.equal(pod.spec.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`)
      assert.equal(pod.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`)
      for (const init of pod.spec.initContainers ?? []) {
        const at = `${where}/${init.name} (init)`
        assert.equal(init.securityContext?.allowPrivilegeEscalation, false, `${at}: no privilege escalation`)
        assert.deepEqual(init.securityContext?.capabilities?.drop, ['ALL'], `${at}: all capabilities dropped`)
        assert.equal(init.securityContext?.readOnlyRootFilesystem, true, `${at}: read-only root filesystem`)
        for (const kind of ['requests', 'limits'] as const)
          for (const r of ['cpu', 'memory']) assert.ok(init.resources?.[kind]?.[r], `${at}: ${kind}.${r}`)
      }
      for (const c of pod.spec.containers) {
        const at = `${where}/${c.name}`
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${at}: no privilege escalation`)
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${at}: all capabilities dropped`)
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${at}: read-only root filesystem`)
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp')
        assert.ok(tmp, `${at}: /tmp mounted`)
        assert.ok(
          pod.spec.volumes?.find((v) => v.name === tmp.name)?.emptyDir !== undefined,
          `${at}: /tmp is an emptyDir`
        )
        for (const kind of ['requests', 'limits'] as const)
          for (const r of ['cpu', 'memory']) assert.ok(c.resources?.[kind]?.[r], `${at}: ${kind}.${r}`)
        if (o.kind === 'Job') continue
        assert.ok(
          c.startupProbe && c.livenessProbe && c.readinessProbe,
          `${at}: startup, liveness and readiness probes`
        )
        if (pod.metadata.labels['app.kubernetes.io/component'] === 'service') {
          assert.equal(c.startupProbe.httpGet?.path, '/health/live', `${at}: startup on /health/live`)
          assert.equal(c.livenessProbe.httpGet?.path, '/health/live', `${at}: liveness on /health/live`)
          assert.equal(c.readinessProbe.httpGet?.path, '/health/ready', `${at}: readiness on /health/ready`)
        }
      }
    }
  })

  test(`NetworkPolicies of the ${profile} profile: default deny, and every selector matches a pod`, async () => {
    const { objects } = await render(profile)
    const pods = objects.map(podTemplate).filter((p): p is PodTemplate => p !== undefined)
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy')
    const deny = policies.find((p) => p.metadata.name === 'default-deny')
    assert.deepEqual(deny?.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })
    type Peer = { podSelector?: { matchLabels: Record<string, string> } }
    type Rule = { from?: Peer[]; to?: Peer[] }
    for (const policy of policies) {
      const spec = policy.spec as {
        podSelector: { matchLabels?: Record<string, string> }
        ingress?: Rule[]
        egress?: Rule[]
      }
      const selectors = [
        spec.podSelector.matchLabels,
        ...[...(spec.ingress ?? []), ...(spec.egress ?? [])].flatMap((r) =>
          [...(r.from ?? []), ...(r.to ?? [])].map((p) => p.podSelector?.matchLabels)
        )
      ]
      for (const selector of selectors) {
        if (!selector) continue
        assert.ok(
          pods.some((p) => matches(selector, p.metadata.labels)),
          `${policy.metadata.name}: ${JSON.stringify(selector)} selects a pod`
        )
      }
    }
    // Every workload has a policy of its own (the default denies everything else).
    for (const pod of pods) {
      const name = pod.metadata.labels['app.kubernetes.io/name']!
      assert.ok(
        policies.some((p) => p.metadata.name === name),
        `${name} has a NetworkPolicy`
      )
    }
  })
}

test('the production profile: every service may reach each address its configuration names', async () => {
  const { objects } = await render('production')
  type Port = { port: number | string; protocol: string }
  type Rule = { to?: unknown[]; ports?: Port[] }
  const deployments = objects.filter(
    (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'service'
  )
  assert.ok(deployments.length >= 4, `${deployments.length} service deployments`)
  for (const deployment of deployments) {
    const name = deployment.metadata.name
    const container = (
      podTemplate(deployment)!.spec as {
        containers: Array<{ env?: Array<{ name: string; value?: string }> }>
      }
    ).containers[0]!
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']))
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-env`)
    Object.assign(env, (configMap?.data as Record<string, string> | undefined) ?? {})
    // Every URL-valued setting (and each broker) with a host outside the release: its port.
    const defaults: Record<string, number> = {
      https: 443,
      http: 80,
      postgres: 5432,
      redis: 6379,
      smtps: 465,
      smtp: 587
    }
    const needed = Object.entries(env).flatMap(([key, value]) => {
      if (key === 'KAFKA_BROKERS')
        return value.split(',').map((b) => ({ key, port: Number(b.split(':').pop()) }))
      const m = /^([a-z]+):\/\/(?:[^@/]*@)?([^/:?]+)(?::(\d+))?/.exec(value)
      if (!m || !m[2]!.includes('.')) return [] // not a URL, or a Service of the release
      return [{ key, port: m[3] ? Number(m[3]) : defaults[m[1]!]! }]
    })
    assert.ok(needed.length > 0, `${name} names addresses outside the release`)
    const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name)
    const open = ((policy?.spec as { egress?: Rule[] }).egress ?? [])
      .filter((r) => !r.to)
      .flatMap((r) => (r.ports ?? []).map((p) => Number(p.port)))
    for (const { key, port } of needed) {
      assert.ok(open.includes(port), `${name}: ${key} needs egress to port ${port}; open: ${open.join(', ')}`)
    }
  }
})

test('every profile keeps the client’s address at the edge: its NodePort is not source-NATed', async () => {
  for (const profile of PROFILES) {
    const { objects } = await render(profile)
    const edge = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'edge')
    assert.equal(edge?.spec?.externalTrafficPolicy, 'Local', profile)
  }
})

test('the kind profile requests at most 2 CPUs and 3 GiB in all', async () => {
  const { objects } = await render('kind')
  let cpus = 0
  let bytes = 0
  for (const o of objects) {
    const pod = podTemplate(o)
    if (!pod) continue
    const replicas = o.kind === 'Job' ? 1 : ((o.spec!.replicas as number | undefined) ?? 1)
    for (const c of pod.spec.containers) {
      cpus += replicas * cpu(c.resources!.requests!.cpu!)
      bytes += replicas * memory(c.resources!.requests!.memory!)
    }
  }
  assert.ok(cpus <= 2, `requests ${cpus} CPUs`)
  assert.ok(bytes <= 3 * 1024 ** 3, `requests ${(bytes / 1024 ** 2).toFixed(0)} MiB`)
})

test('parity: every service of the compose file has a chart entry with the same settings', async () => {
  const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root })
  const compose = (
    parse(stdout) as {
      services: Record<
        string,
        { environment?: Record<string, string>; build?: { args: { SERVICE?: string } }; restart?: string }
      >
    }
  ).services
  const { objects } = await render('kind')
  // The services' containers (the edge's image is NGINX with the web app: its own template).
  const built = Object.entries(compose).filter(([name, s]) => s.build?.args.SERVICE && name !== 'dev-keys')
  assert.ok(built.length >= 5)
  for (const [name, service] of built) {
    if (service.restart === 'no') {
      // A one-shot job: a Job of the same name (and release revision) with the same variables.
      const job = objects.find((o) => o.kind === 'Job' && o.metadata.name.startsWith(`${name}-`))
      assert.ok(job, `${name} (a compose job) has a chart Job`)
      const env = (job.spec!.template as PodTemplate).spec.containers[0]!.env ?? []
      assert.deepEqual(
        env.map((e) => e.name).sort(),
        Object.keys(service.environment ?? {}).sort(),
        `${name}: the same variables in compose and the chart`
      )
      continue
    }
    const chartName = service.build!.args.SERVICE // the Dockerfile's SERVICE: the chart's entry
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === chartName)
    assert.ok(deployment, `${name} (compose) has a chart entry`)
    const container = (deployment.spec!.template as PodTemplate).spec.containers[0]!
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === container.envFrom![0]!.configMapRef!.name
    )
    const chartVars = new Set([...Object.keys(configMap!.data!), ...(container.env ?? []).map((e) => e.name)])
    const composeVars = new Set(Object.keys(service.environment ?? {}))
    assert.deepEqual(
      [...chartVars].sort(),
      [...composeVars].sort(),
      `${name}: the same variables in compose and the chart`
    )
  }
})

test('the cluster scripts check their prerequisites first and say what is missing', async () => {
  for (const script of ['kind-up.sh', 'kind-down.sh', 'minikube-up.sh', 'minikube-down.sh']) {
    const result = await run('bash', [join(root, 'scripts', script)], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root' }
    }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err
    )
    assert.equal(result.code, 1, `${script} stops`)
    const tool = script.startsWith('kind') ? 'kind' : 'minikube'
    assert.match(result.stderr, new RegExp(`error: missing: .*\\b${tool}\\b`), `${script} names ${tool}`)
    assert.match(result.stderr, new RegExp(`  ${tool}: `), `${script} says where to get ${tool}`)
  }
})
