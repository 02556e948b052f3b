// Turns a Kubernetes release's OpenAPI (api/openapi-spec/swagger.json of k8s.io/kubernetes, from
// the Go module proxy) into the JSON schemas kubeconform reads offline, in its layout:
//   <out>/v<version>-standalone-strict/<kind>[-<group>]-<version>.json
// Standalone: every $ref is inlined. Strict: an object with properties accepts no others, so an
// unknown field fails validation — as `kubectl --validate=strict` would.
// Usage: node scripts/k8s/openapi-to-schemas.ts SWAGGER_JSON OUT_DIR K8S_VERSION
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

type Schema = Record<string, unknown>
const [swaggerFile, outDir, version] = process.argv.slice(2)
if (!swaggerFile || !outDir || !version)
  throw new Error('usage: openapi-to-schemas.ts SWAGGER_JSON OUT_DIR K8S_VERSION')

const { definitions } = JSON.parse(readFileSync(swaggerFile, 'utf8')) as {
  definitions: Record<string, Schema>
}
const dir = join(outDir, `v${version.replace(/^v/, '')}-standalone-strict`)
mkdirSync(dir, { recursive: true })

function inline(schema: unknown, seen: Set<string>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, seen))
  if (schema === null || typeof schema !== 'object') return schema
  const s = schema as Schema
  if (typeof s.$ref === 'string') {
    const name = s.$ref.replace('#/definitions/', '')
    if (seen.has(name)) return {} // a recursive type (JSON schema of CRDs): accept anything below
    return inline(definitions[name], new Set([...seen, name]))
  }
  const out: Schema = {}
  for (const [key, value] of Object.entries(s)) {
    if (key === 'x-kubernetes-group-version-kind') continue
    out[key] =
      key === 'properties'
        ? mapValues(value as Record<string, unknown>, (v) => inline(v, seen))
        : inline(value, seen)
  }
  if (out.format === 'int-or-string') return { oneOf: [{ type: 'string' }, { type: 'integer' }] }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false
  return out
}

function mapValues(o: Record<string, unknown>, f: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]))
}

let written = 0
for (const [name, definition] of Object.entries(definitions)) {
  const gvks = definition['x-kubernetes-group-version-kind'] as
    Array<{ group: string; version: string; kind: string }> | undefined
  if (!gvks || name.startsWith('io.k8s.apiextensions-apiserver')) continue
  const schema = inline(definition, new Set([name])) as Schema
  for (const { group, version: v, kind } of gvks) {
    const suffix = group ? `-${group.split('.')[0]}-${v}` : `-${v}`
    writeFileSync(join(dir, `${kind.toLowerCase()}${suffix}.json`), JSON.stringify(schema))
    written++
  }
}
process.stdout.write(`${written} schemas of Kubernetes ${version} in ${dir}\n`)
