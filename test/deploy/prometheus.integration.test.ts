import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const deploy = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url))

test('promtool: the configuration, as rendered, and the alert rules are valid', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'prom-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const rendered = (await readFile(join(deploy, 'prometheus.yml'), 'utf8'))
    .replaceAll('${PROMETHEUS_TARGET}', '127.0.0.1:9090')
    .replaceAll('${CONSUL_ADDRESS}', '127.0.0.1:8500')
    .replaceAll('${PROMETHEUS_RULES}', join(deploy, 'rules'))
  await writeFile(join(dir, 'prometheus.yml'), rendered)
  const config = await run('promtool', ['check', 'config', join(dir, 'prometheus.yml')])
  assert.match(config.stdout, /SUCCESS: 8 rules found/)
  const rules = await run('promtool', ['check', 'rules', join(deploy, 'rules', 'platform.yml')])
  assert.match(rules.stdout, /SUCCESS: 8 rules found/)
})

test('promtool test rules: every alert fires on its input series and stays quiet before', async () => {
  const { stdout } = await run('promtool', ['test', 'rules', join(deploy, 'tests', 'platform.test.yml')])
  assert.match(stdout, /SUCCESS/)
})
