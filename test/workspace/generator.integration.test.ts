// `nx g @platform/tools:service billing` in a scratch copy of the repository, as docs/adding-a-service.md
// says: it touches only the new folder and the generated files, and without a hand edit the service
// lints, typechecks, passes its test, and runs in the native platform — registered in Consul,
// scraped by Prometheus, reachable through the edge at its prefix. The copy shares the running
// platform (.tools): its gateways take the place of the platform's for the last step, and the
// platform's own come back at the end.
import assert from 'node:assert/strict'
import { execFile, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import type { JWK } from 'jose'
import { eventually, platform, stack } from '@platform/testing'
import { signToken } from '../support/story.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const NAME = 'billing'

/** Exactly what adding a service changes, besides its own folder (docs/adding-a-service.md). */
const GENERATED = [
  'deploy/postgres/init.sql',
  'docker-compose.yml',
  'helm/platform/values.yaml',
  'package-lock.json',
  'services/gateway/src/admin/topology.generated.ts',
  'services/gateway/src/routes/services.generated.ts'
]

async function sh(cwd: string, command: string, timeout = 300_000): Promise<string> {
  const { stdout } = await run('bash', ['-c', command], { cwd, timeout, maxBuffer: 32 * 1024 * 1024 }).catch(
    (err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `${command} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`.slice(0, 6000)
      )
    }
  )
  return stdout
}

async function superuser<T>(query: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({
    host: stack.postgres.host,
    port: stack.postgres.port,
    user: 'postgres',
    password: 'postgres',
    database: 'postgres'
  })
  await db.connect()
  try {
    return await query(db)
  } finally {
    await db.end()
  }
}

test('nx g @platform/tools:service: a new service that lints, typechecks, passes its test and runs behind the edge', async (t) => {
  // Undone last first: the gateways back, the service stopped, its database dropped, the copy removed.
  const undo: Array<() => Promise<unknown>> = []
  t.after(async () => {
    for (const step of undo.reverse())
      await step().catch((err: Error) => console.error(`cleanup: ${err.message}`))
  })
  const scratch = await mkdtemp(join(tmpdir(), 'platform-fork-'))
  undo.push(() => rm(scratch, { recursive: true, force: true }))
  // The repository as committed (and what is new but not ignored), the installed packages as hard
  // links, the tools and the running platform's state shared.
  await sh(
    root,
    `git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t ${scratch} 2>/dev/null || true`
  )
  await sh(root, `cp -al node_modules ${scratch}/node_modules`)
  await symlink(join(root, '.tools'), join(scratch, '.tools'))
  await sh(scratch, 'git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm base')

  await sh(
    scratch,
    `NX_DAEMON=false NX_NO_CLOUD=true node_modules/.bin/nx g @platform/tools:service ${NAME} --no-interactive`
  )

  const changed = (await sh(scratch, 'git status --porcelain --untracked-files=all'))
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3))
  const outside = changed.filter((f) => !f.startsWith(`services/${NAME}/`)).sort()
  assert.deepEqual(outside, GENERATED, 'outside its folder, only the generated files change')
  assert.ok(changed.includes(`services/${NAME}/service.json`))
  const manifest = JSON.parse(await readFile(join(scratch, `services/${NAME}/service.json`), 'utf8'))
  assert.deepEqual(manifest.routes, [{ prefix: `/api/v1/${NAME}`, access: 'user' }])
  assert.equal(manifest.port, 3004)

  // It lints and typechecks as it is, and the generated files are what `npm run generate` makes.
  await sh(
    scratch,
    `NX_DAEMON=false node_modules/.bin/nx show projects >/dev/null && node_modules/.bin/eslint services/${NAME} services/gateway/src --max-warnings=0`
  )
  await sh(scratch, `node_modules/.bin/tsc -p services/${NAME}/tsconfig.json --noEmit`)
  await sh(scratch, 'node --conditions=development scripts/generate.ts --check')

  // Its database comes from the generated init (the running PostgreSQL gets it), then its test passes.
  undo.push(() =>
    superuser(async (db) => {
      await db.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`)
      await db.query(`DROP ROLE IF EXISTS ${NAME}`)
    })
  )
  // Started from this checkout when it isn't running (the scratch copy's data folder is root's
  // alone, out of the postgres user's reach); the copy's init then runs against it.
  await sh(root, 'bash scripts/infra.sh up postgres')
  await sh(scratch, 'bash scripts/infra.sh up postgres')
  const tested = spawnSync(
    process.execPath,
    ['--conditions=development', '--test', `services/${NAME}/test/items.integration.test.ts`],
    { cwd: scratch, encoding: 'utf8', timeout: 120_000 }
  )
  assert.equal(tested.status, 0, `${tested.stdout}\n${tested.stderr}`)

  // In the running platform: started the way `npm run up` starts every service, then the
  // platform's gateways replaced by the copy's, which route its prefix.
  const status = spawnSync('bash', [platform.script, 'status'], { cwd: root })
  if (status.status !== 0) await sh(root, `bash ${platform.script} up`, 600_000)
  undo.push(() => sh(scratch, `bash scripts/platform.sh stop ${NAME}`))
  await sh(scratch, `bash scripts/platform.sh start ${NAME}`)
  const consul = (await (
    await fetch(`${stack.consul.url}/v1/health/service/${NAME}?passing`)
  ).json()) as Array<{ Service: { Port: number } }>
  assert.deepEqual(
    consul.map((e) => e.Service.Port),
    [23004],
    'registered and passing in Consul'
  )
  await eventually(60_000, 'scraped by Prometheus', async () => {
    const res = await fetch(
      `${stack.prometheus.url}/api/v1/query?query=${encodeURIComponent(`up{job="${NAME}"}`)}`
    )
    const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } }
    return body.data.result.some((r) => r.value[1] === '1') ? true : undefined
  })

  undo.push(() => sh(root, `bash ${platform.script} roll gateway gateway-2`))
  await sh(scratch, 'bash scripts/platform.sh roll gateway gateway-2')
  const token = await signToken(JSON.parse(await readFile(platform.signingKeyFile, 'utf8')) as JWK, {})
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const created = await fetch(`${platform.edge}/api/v1/${NAME}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'through the edge' })
  })
  assert.equal(created.status, 201, await created.clone().text())
  assert.match(created.headers.get('location') ?? '', new RegExp(`^/api/v1/${NAME}/[0-9a-f-]{36}$`))
  const list = (await (await fetch(`${platform.edge}/api/v1/${NAME}`, { headers })).json()) as {
    items: Array<{ name: string }>
  }
  assert.ok(list.items.some((i) => i.name === 'through the edge'))
  assert.equal(
    (await fetch(`${platform.edge}/api/v1/${NAME}`)).status,
    401,
    'user access, as the manifest says'
  )

  // The local loop: `npm run dev -w services/billing` takes the instance's place, reloads on a change,
  // and gives the place back when it stops.
  const dev = spawn('npm', ['run', 'dev', '-w', `services/${NAME}`], {
    cwd: scratch,
    detached: true,
    stdio: 'ignore'
  })
  const exited = once(dev, 'exit')
  undo.push(async () => {
    if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGINT')
    await exited
  })
  const missing = `${platform.edge}/api/v1/${NAME}/00000000-0000-4000-8000-000000000000`
  await eventually(60_000, 'the dev instance answers through the edge', async () => {
    const pid = await readFile(join(scratch, `.tools/run/${NAME}.pid`), 'utf8').catch(() => '')
    const res = await fetch(missing, { headers })
    return pid === '' && res.status === 404 ? true : undefined
  })
  const routes = join(scratch, `services/${NAME}/src/routes/items.ts`)
  await writeFile(routes, (await readFile(routes, 'utf8')).replace("'ITEM_NOT_FOUND'", "'NO_SUCH_ITEM'"))
  await eventually(60_000, 'reloaded with the change', async () => {
    const res = await fetch(missing, { headers })
    return res.status === 404 && ((await res.json()) as { code: string }).code === 'NO_SUCH_ITEM'
      ? true
      : undefined
  })
  process.kill(-dev.pid!, 'SIGINT')
  await exited
  await eventually(60_000, "the platform's instance is back", async () => {
    const pid = await readFile(join(scratch, `.tools/run/${NAME}.pid`), 'utf8').catch(() => '')
    const res = await fetch(missing, { headers })
    return pid !== '' && res.status === 404 ? true : undefined
  })
})
