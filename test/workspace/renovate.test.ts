// Dependency updates (renovate.json): valid for the Renovate release pinned in versions.env, and its
// own managers find what they are written for here.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { Ajv } from 'ajv'
import { tools } from '@platform/testing'

const root = new URL('../../', import.meta.url)

interface RenovateConfig {
  enabledManagers: string[]
  customManagers: Array<{
    managerFilePatterns: string[]
    matchStrings: string[]
    extractVersionTemplate?: string
  }>
  packageRules: Array<{ matchDepNames?: string[]; allowedVersions?: string }>
}

const config = async () =>
  JSON.parse(await readFile(new URL('renovate.json', root), 'utf8')) as RenovateConfig
// Renovate writes patterns as "/regex/".
const regex = (pattern: string) => new RegExp(pattern.replace(/^\/(.*)\/$/, '$1'))

test("renovate.json is valid against Renovate's own schema, every option one it knows", async () => {
  const schema = JSON.parse(await readFile(tools.renovateSchema, 'utf8')) as {
    properties: Record<string, unknown>
  }
  const isRegex = (s: string) => {
    try {
      return Boolean(new RegExp(s))
    } catch {
      return false
    }
  }
  const validate = new Ajv({ strict: false, allErrors: true, formats: { regex: isRegex } }).compile(schema)
  const renovate = await config()
  assert.ok(validate(renovate), JSON.stringify(validate.errors?.slice(0, 5), null, 2))
  // The schema lets unknown options through: a misspelt one would be silently ignored by Renovate.
  const unknown = Object.keys(renovate).filter((k) => k !== '$schema' && !(k in schema.properties))
  assert.deepEqual(unknown, [])
  // And it does reject a value it knows to be wrong.
  assert.equal(validate({ ...renovate, rangeStrategy: 'sometimes' }), false)
})

test('every Go tool pinned in versions.env is found by the regex manager, at the version its go.mod builds', async () => {
  const { customManagers } = await config()
  const manager = customManagers.find((m) =>
    m.managerFilePatterns.some((p) => regex(p).test('scripts/infra/versions.env'))
  )
  assert.ok(manager, 'a custom manager for scripts/infra/versions.env')
  const text = await readFile(new URL('scripts/infra/versions.env', root), 'utf8')
  const found = [...text.matchAll(new RegExp(manager.matchStrings[0]!, 'g'))].map((m) => m.groups!)
  assert.ok(found.length >= 5, `${found.length} annotated versions`)
  const gomods = await Promise.all(
    (await readdir(new URL('scripts/infra/', root), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => readFile(new URL(`scripts/infra/${d.name}/go.mod`, root), 'utf8').catch(() => ''))
  )
  for (const { datasource, depName, currentValue } of found) {
    assert.equal(datasource, 'go')
    assert.ok(
      gomods.some((g) => g.includes(`\t${depName} v${currentValue} `)),
      `${depName} v${currentValue}: the same version in a scripts/infra/*/go.mod`
    )
  }
})

test('Consul stays on its last MPL-2.0 release line; Kafka is chosen by kafka-compat.sh, not updated by a bot', async () => {
  const { packageRules, enabledManagers } = await config()
  const consul = packageRules.find((r) => r.matchDepNames?.includes('github.com/hashicorp/consul'))
  assert.equal(consul?.allowedVersions, '<1.17.0')
  assert.ok(!enabledManagers.includes('maven'))
  for (const manager of ['npm', 'github-actions', 'gomod', 'dockerfile', 'helm-values'])
    assert.ok(enabledManagers.includes(manager), manager)
})
