import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { loadSlos } from '../../scripts/slo.ts'

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
  // The platform's 8 alerts; per SLO, 7 recording rules and 2 alerts (rules/slo.yml, generated).
  const slos = loadSlos().length
  assert.match(config.stdout, /SUCCESS: 2 rule files found/)
  assert.match(config.stdout, /platform\.yml\n {2}SUCCESS: 8 rules found/)
  assert.match(config.stdout, new RegExp(`slo\\.yml\\n {2}SUCCESS: ${9 * slos} rules found`))
})

test('promtool test rules: every alert fires on its input series and stays quiet before', async () => {
  const { stdout } = await run('promtool', ['test', 'rules', join(deploy, 'tests', 'platform.test.yml')])
  assert.match(stdout, /SUCCESS/)
})

test("promtool test rules: an SLO's fast burn pages within minutes, a slow one opens a ticket, a blip neither", async () => {
  const { stdout } = await run('promtool', ['test', 'rules', join(deploy, 'tests', 'slo.test.yml')])
  assert.match(stdout, /SUCCESS/)
})
