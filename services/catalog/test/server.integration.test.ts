import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createConsul, createResolver } from '@platform/discovery'
import { eventually, freePort, scratchSchema, stack } from '@platform/testing'

test('the service process: migrates, becomes ready, registers in Consul; SIGTERM deregisters and exits 0', async (t) => {
  const schema = await scratchSchema()
  t.after(schema.drop)
  const port = await freePort()
  const dir = fileURLToPath(new URL('../', import.meta.url))
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', '@platform/service/instrumentation', 'src/server.ts'],
    {
      cwd: dir,
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        DATABASE_URL: schema.url,
        REDIS_URL: `redis://${stack.redis.host}:${stack.redis.port}`,
        KAFKA_BROKERS: stack.kafka.brokers.join(','),
        CONSUL_URL: stack.consul.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: ''
      },
      stdio: ['ignore', 'ignore', 'inherit']
    }
  )
  t.after(() => child.kill('SIGKILL'))
  const base = `http://127.0.0.1:${port}`
  const resolver = createResolver({
    consul: createConsul(stack.consul.url),
    service: 'catalog',
    waitSeconds: 2
  })
  t.after(() => resolver.stop())

  await eventually(30_000, 'ready', async () =>
    (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200 ? true : undefined
  )
  assert.equal((await fetch(`${base}/products?limit=1`)).status, 200)
  assert.match(await (await fetch(`${base}/metrics`)).text(), /db_pool_connections/)
  await eventually(20_000, 'registered and passing in Consul', async () =>
    resolver.instances().includes(base) ? true : undefined
  )

  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')

  assert.equal(code, 0)
  await eventually(5_000, 'gone from Consul', async () =>
    resolver.instances().includes(base) ? undefined : true
  )
})
