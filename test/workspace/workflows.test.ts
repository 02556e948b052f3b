// The delivery pipeline's workflows (.github/workflows): valid for actionlint (which runs
// shellcheck on their scripts), every action pinned by commit, least privilege by default.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { tools } from '@platform/testing'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const dir = new URL('../../.github/workflows/', import.meta.url)

interface Workflow {
  permissions?: Record<string, string>
  jobs: Record<
    string,
    { permissions?: Record<string, string>; steps?: Array<{ uses?: string; run?: string }> }
  >
}

async function workflows(): Promise<Array<[string, string, Workflow]>> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n))
  return Promise.all(
    names.map(async (n) => {
      const text = await readFile(new URL(n, dir), 'utf8')
      return [n, text, parse(text) as Workflow] as [string, string, Workflow]
    })
  )
}

test('actionlint (and shellcheck on every run: script) passes on the workflows', async () => {
  const { stdout } = await run(tools.actionlint, ['-no-color', '-oneline'], { cwd: root }).catch(
    (err: { stdout?: string }) => {
      throw new Error(`actionlint:\n${err.stdout ?? ''}`)
    }
  )
  assert.equal(stdout, '')
  assert.ok((await workflows()).length >= 2, 'ci and release')
})

test('every action is pinned by a commit SHA, its version in a comment', async () => {
  for (const [name, text] of await workflows()) {
    const uses = [...text.matchAll(/uses:\s*(\S+)(.*)$/gm)]
    assert.ok(uses.length > 0 || name === 'release.yml', `${name} uses actions`)
    for (const [, ref, rest] of uses)
      assert.match(`${ref}${rest}`, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${name}: ${ref}`)
  }
})

test('least privilege: read-only by default, a job asks for what it writes', async () => {
  for (const [name, , workflow] of await workflows()) {
    assert.deepEqual(workflow.permissions, { contents: 'read' }, `${name}: top-level permissions`)
    for (const [job, spec] of Object.entries(workflow.jobs)) {
      const writes = Object.entries(spec.permissions ?? {}).filter(([, level]) => level === 'write')
      for (const [scope] of writes)
        assert.ok(['packages', 'id-token', 'contents'].includes(scope), `${name}/${job}: ${scope}: write`)
    }
  }
})

test('the pipeline builds what scripts/affected.ts says a change touches', async () => {
  const [, text] = (await workflows()).find(([n]) => n === 'ci.yml')!
  assert.match(text, /node scripts\/affected\.ts --base "\$BASE" --head "\$GITHUB_SHA" --github-output/)
  assert.match(text, /matrix:\s+service: \$\{\{ fromJSON\(needs\.affected\.outputs\.images\) \}\}/)
  assert.match(text, /bash scripts\/test\.sh affected "\$BASE"/)
  assert.match(text, /platforms: linux\/amd64,linux\/arm64/)
})
