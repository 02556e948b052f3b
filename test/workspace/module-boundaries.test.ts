// Lints test/fixtures/boundaries (a tiny Nx workspace) with the repository's ESLint config.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const fixture = fileURLToPath(new URL('../fixtures/boundaries/', import.meta.url))
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url))

interface LintResult {
  filePath: string
  messages: Array<{ ruleId: string | null; message: string }>
}

async function lint(file: string): Promise<LintResult> {
  const env = { ...process.env, NX_DAEMON: 'false' }
  await run(bin('nx'), ['show', 'projects'], { cwd: fixture, env }) // the rule needs a cached graph
  const out = await run(bin('eslint'), ['--format', 'json', file], { cwd: fixture, env }).catch(
    (err: { stdout: string }) => err // eslint exits 1 when it reports an error
  )
  const [result] = JSON.parse(out.stdout) as LintResult[]
  assert.ok(result, `eslint reported nothing for ${file}`)
  return result
}

test('lint rejects a service importing another service', async () => {
  const { messages } = await lint('services/order/src/uses-service.ts')

  assert.equal(messages.length, 1)
  assert.equal(messages[0]?.ruleId, '@nx/enforce-module-boundaries')
  assert.match(messages[0]?.message ?? '', /tagged with "type:service" can only depend on libs tagged with/)
})

test('lint accepts a service importing a lib', async () => {
  const { messages } = await lint('services/order/src/uses-lib.ts')

  assert.deepEqual(messages, [])
})
