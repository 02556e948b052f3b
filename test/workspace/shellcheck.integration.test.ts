import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

test('shellcheck passes on every shell script (settings in .shellcheckrc)', async () => {
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.sh'], {
    cwd: root
  })
  const scripts = [
    ...stdout
      .trim()
      .split('\n')
      .filter((f) => !f.startsWith('test/fixtures/')),
    '.ci/run'
  ]
  assert.ok(scripts.length > 10, `found ${scripts.length} scripts`)
  const result = await run('shellcheck', ['-x', ...scripts], { cwd: root }).then(
    () => '',
    (err: { stdout: string }) => err.stdout
  )
  assert.equal(result, '')
})
