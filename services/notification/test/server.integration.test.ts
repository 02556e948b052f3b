import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createConsul, createResolver } from '@platform/discovery'
import { eventually, freePort, scratchSchema, scratchTopics, smtpSink, stack } from '@platform/testing'
import { openStream } from './helpers.ts'

const dir = fileURLToPath(new URL('../', import.meta.url))

test('the service process: ready and registered; SIGTERM ends open streams, deregisters and exits 0', async (t) => {
  const schema = await scratchSchema('notifications')
  t.after(schema.drop)
  const smtp = await smtpSink()
  t.after(() => smtp.stop())
  const port = await freePort()
  const topics = await scratchTopics([`t${port}.order.events`, `t${port}.order.events.dlq`])
  t.after(topics.drop)
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
        KAFKA_BROKERS: stack.kafka.brokers.join(','),
        KAFKA_TOPIC_PREFIX: `t${port}.`,
        CONSUL_URL: stack.consul.url,
        SMTP_URL: smtp.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: ''
      },
      stdio: ['ignore', 'ignore', 'inherit']
    }
  )
  t.after(() => child.kill('SIGKILL'))
  const base = `http://127.0.0.1:${port}`
  const resolver = createResolver({
    consul: createConsul(stack.consul.url),
    service: 'notification',
    waitSeconds: 2
  })
  t.after(() => resolver.stop())

  await eventually(30_000, 'ready', async () =>
    (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200 ? true : undefined
  )
  await eventually(20_000, 'registered and passing in Consul', async () =>
    resolver.instances().includes(base) ? true : undefined
  )
  const stream = await openStream(`${base}/notifications/stream`, { 'x-user-id': 'alice' })
  assert.equal(stream.status, 200)

  const started = Date.now()
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  assert.equal(code, 0)
  assert.ok(Date.now() - started < 10_000, 'an open stream must not hold shutdown until the grace period')
  await eventually(5_000, 'gone from Consul', async () =>
    resolver.instances().includes(base) ? undefined : true
  )
})

test('missing settings stop the process at start with one message naming each', async () => {
  const err = await promisify(execFile)(process.execPath, ['--conditions=development', 'src/server.ts'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      SMTP_URL: 'mail.example'
    }
  }).then(
    () => assert.fail('the process should exit 1'),
    (e: { code: number; stderr: string }) => e
  )
  assert.equal(err.code, 1)
  assert.match(err.stderr, /^notification: configuration: invalid configuration \(2 problems\):/)
  assert.match(err.stderr, /DATABASE_URL: missing/)
  assert.match(err.stderr, /SMTP_URL: /)
})
