// The contracts as documents, and the checks that keep services from breaking each other:
//   - the AsyncAPI 3 document of every topic and event type (from @platform/contracts' Events and
//     the manifests; the OpenAPI document comes from the gateway's route table, services/gateway/src/openapi.ts);
//   - consumers' declared reads (services/<name>/src/reads.ts) against their producers' schemas;
//   - breaking changes against the committed baseline (libs/contracts/baseline): oasdiff for the
//     API, the subset rule below for events.
// Usage: node scripts/contracts.ts check      what npm test checks (reads and breaking changes)
//        node scripts/contracts.ts baseline   renew the baseline: refused while a change breaks it,
//                                             unless the API's major version or the event's version was bumped
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { TSchema } from 'typebox'
import {
  API_VERSION,
  EnvelopeSchema,
  Events,
  INTERNAL_API,
  dataSchemaOf,
  type ConsumerReads
} from '../libs/contracts/src/index.ts'
import type { Manifest } from '../libs/service/src/manifest.ts'

const root = new URL('../', import.meta.url)
export const GENERATED = 'libs/contracts/generated'
export const BASELINE = 'libs/contracts/baseline'

type Json = Record<string, unknown>
type EventRegistry = Record<
  string,
  {
    topic: string
    version: number
    schema: TSchema
    example: unknown
    previous?: { version: number; schema: TSchema }
  }
>

/** A schema as plain JSON (TypeBox's symbols dropped). */
const plain = (schema: unknown): Json => JSON.parse(JSON.stringify(schema)) as Json

// --- AsyncAPI ------------------------------------------------------------------------------------

const messageName = (type: string, version: number) => `${type}.v${version}`
const camel = (s: string) =>
  s.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())

/** The CloudEvents envelope of one event type's version, its data schema inline. */
function envelopeOf(type: string, version: number, data: unknown): Json {
  const envelope = plain(EnvelopeSchema) as { properties: Json; required: string[] }
  return {
    ...envelope,
    properties: {
      ...envelope.properties,
      type: { const: type, type: 'string' },
      dataschema: { const: dataSchemaOf(type, version), type: 'string' },
      data: plain(data)
    },
    required: [...envelope.required, 'dataschema']
  }
}

/**
 * The AsyncAPI 3 document of the platform's events: a channel per topic with its messages (each
 * event type's current version, and its previous one while consumers still read it), and per
 * service the operations that send and receive them (the consumers' from their declared reads).
 */
export function asyncApiDocument(
  all: Manifest[],
  reads: Map<string, ConsumerReads>,
  events: EventRegistry = Events as unknown as EventRegistry
): Json {
  const messages: Json = {}
  const channels: Record<string, { address: string; description: string; messages: Json }> = {}
  for (const [type, e] of Object.entries(events)) {
    const versions = [
      { version: e.version, schema: e.schema, examples: [{ name: 'example', payload: { data: e.example } }] },
      ...(e.previous ? [{ version: e.previous.version, schema: e.previous.schema, examples: [] }] : [])
    ]
    for (const v of versions) {
      const name = messageName(type, v.version)
      messages[name] = {
        name: type,
        title: `${type} v${v.version}${v.version === e.version ? '' : ' (previous: still read for one release)'}`,
        contentType: 'application/cloudevents+json',
        headers: {
          type: 'object',
          properties: {
            'ce-type': { const: type, type: 'string' },
            'content-type': { const: 'application/cloudevents+json', type: 'string' },
            traceparent: { type: 'string' }
          }
        },
        payload: envelopeOf(type, v.version, v.schema),
        ...(v.examples.length > 0 ? { examples: v.examples } : {})
      }
      const channel = (channels[e.topic] ??= {
        address: e.topic,
        description: `Events of ${e.topic.split('.')[0]}; keyed by the aggregate (the CloudEvents subject). The bus prefixes the address with its namespace (KAFKA_TOPIC_PREFIX).`,
        messages: {}
      })
      channel.messages[name] = { $ref: `#/components/messages/${name}` }
    }
  }
  const operations: Json = {}
  const ref = (topic: string, names: string[]) => ({
    channel: { $ref: `#/channels/${topic}` },
    messages: names.map((n) => ({ $ref: `#/channels/${topic}/messages/${n}` }))
  })
  const namesOn = (topic: string, types: string[]) =>
    types.flatMap((t) => {
      const e = events[t]!
      return e.topic !== topic
        ? []
        : [e.version, ...(e.previous ? [e.previous.version] : [])].map((v) => messageName(t, v))
    })
  for (const m of all) {
    for (const topic of m.produces) {
      const types = Object.keys(events).filter((t) => events[t]!.topic === topic)
      operations[`${m.name}.send.${camel(topic)}`] = {
        action: 'send',
        title: `${m.name} publishes ${topic} (through its outbox)`,
        ...ref(
          topic,
          types.map((t) => messageName(t, events[t]!.version))
        )
      }
    }
    for (const topic of m.consumes) {
      const types = Object.keys(reads.get(m.name)?.events ?? {}).filter((t) => events[t]?.topic === topic)
      operations[`${m.name}.receive.${camel(topic)}`] = {
        action: 'receive',
        title: `${m.name} consumes ${types.join(', ')} (group ${m.name}; other types on the topic are skipped)`,
        ...ref(topic, namesOn(topic, types))
      }
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Platform events',
      version: API_VERSION,
      description:
        'Every event is a CloudEvents 1.0 envelope (structured mode) whose `dataschema` names its type and version. Consumers read the current and the previous version of a type and ignore fields they do not know.'
    },
    defaultContentType: 'application/cloudevents+json',
    servers: {
      kafka: { host: 'kafka:9092', protocol: 'kafka', description: 'the platform’s Kafka (KRaft)' }
    },
    channels,
    operations,
    components: { messages }
  }
}

// --- The subset rule -----------------------------------------------------------------------------

const ajv = new Ajv({ strict: false, allErrors: false })
;(addFormats as unknown as (a: Ajv) => void)(ajv)

type Schema = Json & {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  additionalProperties?: boolean | Schema
  items?: Schema
  anyOf?: Schema[]
  enum?: unknown[]
  const?: unknown
}
const typesOf = (s: Schema): string[] | undefined =>
  s.const !== undefined
    ? [typeof s.const === 'number' ? (Number.isInteger(s.const) ? 'integer' : 'number') : typeof s.const]
    : s.type === undefined
      ? undefined
      : Array.isArray(s.type)
        ? s.type
        : [s.type]
const within = (t: string, wide: string[]) => wide.includes(t) || (t === 'integer' && wide.includes('number'))

/**
 * Where data valid under `narrow` may fail `wide` — empty when every value one allows the other
 * reads. `wide` is a reader: it ignores properties it doesn't list (its `additionalProperties:
 * false` is not held against `narrow`). Sound for the schemas the contracts use; anything it
 * can't prove is reported.
 */
export function subsetProblems(narrow: unknown, wide: unknown, path = ''): string[] {
  const n = plain(narrow) as Schema
  const w = plain(wide) as Schema
  const at = path || '/'
  if (w.anyOf) {
    const branches = n.anyOf ?? [n]
    return branches.flatMap((b) =>
      w.anyOf!.some((wb) => subsetProblems(b, wb, path).length === 0)
        ? []
        : [`${at}: ${JSON.stringify(b.const ?? b.type)} is not among the values read`]
    )
  }
  if (n.anyOf) return n.anyOf.flatMap((b) => subsetProblems(b, w, path))
  if (n.const !== undefined || n.enum) {
    const values = n.const !== undefined ? [n.const] : n.enum!
    return values.filter((v) => !ajv.validate(w, v)).map((v) => `${at}: ${JSON.stringify(v)} is not read`)
  }
  const problems: string[] = []
  const nt = typesOf(n)
  const wt = typesOf(w)
  if (w.const !== undefined || w.enum)
    problems.push(`${at}: the reader expects fixed values the producer does not promise`)
  if (wt) {
    if (!nt) return [`${at}: any type may come, the reader expects ${wt.join('|')}`]
    for (const t of nt)
      if (!within(t, wt)) problems.push(`${at}: ${t} where the reader expects ${wt.join('|')}`)
  }
  const bound = (key: string, tighter: (nv: number, wv: number) => boolean) => {
    const wv = w[key]
    if (typeof wv !== 'number') return
    const nv = n[key]
    if (typeof nv !== 'number' || !tighter(nv, wv))
      problems.push(
        `${at}: ${key} ${nv === undefined ? 'unbounded' : String(nv)} where the reader needs ${wv}`
      )
  }
  bound('minimum', (a, b) => a >= b)
  bound('maximum', (a, b) => a <= b)
  bound('minLength', (a, b) => a >= b)
  bound('maxLength', (a, b) => a <= b)
  bound('minItems', (a, b) => a >= b)
  bound('maxItems', (a, b) => a <= b)
  for (const key of ['pattern', 'format'] as const)
    if (w[key] !== undefined && w[key] !== n[key])
      problems.push(
        `${at}: ${key} ${JSON.stringify(n[key] ?? null)} where the reader needs ${JSON.stringify(w[key])}`
      )
  if (w.items) {
    if (!n.items) problems.push(`${at}: items of any shape where the reader expects a shape`)
    else problems.push(...subsetProblems(n.items, w.items, `${path}/items`))
  }
  if (w.properties) {
    const required = new Set(n.required ?? [])
    for (const [name, ws] of Object.entries(w.properties)) {
      const ns = n.properties?.[name]
      if (w.required?.includes(name) && !required.has(name))
        problems.push(`${path}/${name}: ${ns ? 'optional' : 'absent'} where the reader requires it`)
      if (ns) problems.push(...subsetProblems(ns, ws, `${path}/${name}`))
      else if (n.additionalProperties !== false && !w.required?.includes(name))
        problems.push(`${path}/${name}: not described by the producer, read as ${JSON.stringify(ws.type)}`)
    }
  }
  return problems
}

// --- Consumers' reads ----------------------------------------------------------------------------

/** Each service's declared reads (services/<name>/src/reads.ts), by service name. */
export async function loadReads(all: Manifest[]): Promise<Map<string, ConsumerReads>> {
  const reads = new Map<string, ConsumerReads>()
  for (const m of all) {
    const file = new URL(`services/${m.name}/src/reads.ts`, root)
    if (existsSync(file)) reads.set(m.name, ((await import(file.href)) as { READS: ConsumerReads }).READS)
  }
  return reads
}

/**
 * Where a producer breaks a consumer's declared reads: its schema and example. (Data of an event's
 * previous version reaches handlers upgraded to the current shape, so the current one is what counts.)
 */
export function readProblems(
  all: Manifest[],
  reads: Map<string, ConsumerReads>,
  events: EventRegistry = Events as unknown as EventRegistry,
  internal: Record<string, { response: TSchema; example: unknown }> = INTERNAL_API
): string[] {
  const problems: string[] = []
  for (const m of all) {
    const declared = reads.get(m.name)
    if (m.consumes.length > 0 && !declared?.events)
      problems.push(
        `${m.name} consumes ${m.consumes.join(', ')} but declares no reads (services/${m.name}/src/reads.ts)`
      )
    for (const [type, read] of Object.entries(declared?.events ?? {})) {
      const e = events[type]
      if (!e) {
        problems.push(`${m.name} reads ${type}, which no service produces`)
        continue
      }
      if (!m.consumes.includes(e.topic))
        problems.push(`${m.name} reads ${type} but its manifest does not consume ${e.topic}`)
      if (!all.some((p) => p.produces.includes(e.topic)))
        problems.push(`${m.name} reads ${type}: no manifest produces ${e.topic}`)
      for (const p of subsetProblems(e.schema, read))
        problems.push(`${m.name} reads ${type} v${e.version}: ${p}`)
      if (!ajv.validate(plain(read), e.example))
        problems.push(`${m.name} reads ${type}: the producer's example fails: ${ajv.errorsText()}`)
    }
    for (const [operation, read] of Object.entries(declared?.http ?? {})) {
      const op = internal[operation]
      const service = operation.split(' ')[0]!
      if (!op) {
        problems.push(`${m.name} reads ${operation}, which is not an internal operation (INTERNAL_API)`)
        continue
      }
      if (!m.calls.includes(service))
        problems.push(`${m.name} reads ${operation} but its manifest does not call ${service}`)
      for (const p of subsetProblems(op.response, read)) problems.push(`${m.name} reads ${operation}: ${p}`)
      if (!ajv.validate(plain(read), op.example))
        problems.push(`${m.name} reads ${operation}: the producer's example fails: ${ajv.errorsText()}`)
    }
  }
  for (const [type, e] of Object.entries(events))
    if (!ajv.validate(plain(e.schema), e.example))
      problems.push(`${type}: its example does not match its schema: ${ajv.errorsText()}`)
  return problems
}

// --- Breaking changes ----------------------------------------------------------------------------

interface Message {
  name: string
  payload: { properties: { dataschema: { const: string }; data: unknown } }
}
const messagesOf = (doc: Json) =>
  Object.values((doc.components as { messages: Record<string, Message> }).messages)
const versionIn = (m: Message) => Number(/:v(\d+)$/.exec(m.payload.properties.dataschema.const)![1])

/**
 * Where the events of `current` break consumers of `baseline`: a type gone; a version whose data
 * changed so that it can't be read both ways — deployed consumers reading new events (a field
 * removed or made optional, a type or a value widened), updated consumers reading events already
 * sent (a required field added, a bound tightened); a bump that leaves the baseline's version unread.
 */
export function eventBreakingChanges(baseline: Json, current: Json): string[] {
  const problems: string[] = []
  const now = new Map<string, Message[]>()
  for (const m of messagesOf(current)) now.set(m.name, [...(now.get(m.name) ?? []), m])
  const then = new Map<string, Message>()
  for (const m of messagesOf(baseline)) {
    const seen = then.get(m.name)
    if (!seen || versionIn(m) > versionIn(seen)) then.set(m.name, m)
  }
  for (const [type, old] of then) {
    const versions = now.get(type)
    if (!versions) {
      problems.push(`${type}: removed (consumers still read it)`)
      continue
    }
    const same = versions.find((m) => versionIn(m) === versionIn(old))
    if (!same) {
      problems.push(
        `${type}: v${versionIn(old)} is no longer read, though producers still send it for one release (keep it as the previous version)`
      )
      continue
    }
    // Both ways: deployed consumers read the new data, updated consumers the events still in flight.
    for (const p of subsetProblems(same.payload.properties.data, old.payload.properties.data))
      problems.push(`${type} v${versionIn(old)}: a consumer of the baseline can't read it: ${p}`)
    for (const p of subsetProblems(old.payload.properties.data, same.payload.properties.data))
      problems.push(`${type} v${versionIn(old)}: events already sent can't be read: ${p}`)
  }
  return problems
}

/** The oasdiff setup built (.tools/oasdiff/<OASDIFF_VERSION>), else whichever is on PATH. */
function oasdiff(): string {
  const env = readFileSync(new URL('scripts/infra/versions.env', root), 'utf8')
  const version = /^OASDIFF_VERSION=(.+)$/m.exec(env)?.[1]
  const built = fileURLToPath(new URL(`.tools/oasdiff/${version}/oasdiff`, root))
  return version && existsSync(built) ? built : 'oasdiff'
}

/** oasdiff's breaking changes (errors only) from `baseline` to `current` (OpenAPI files). */
export function apiBreakingChanges(baselineFile: string, currentFile: string): string[] {
  try {
    execFileSync(oasdiff(), ['breaking', baselineFile, currentFile, '--fail-on', 'ERR', '--format', 'text'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe']
    })
    return []
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string; code?: string }
    if (e.code === 'ENOENT')
      throw new Error('oasdiff is not installed: run npm run setup (scripts/infra/oasdiff)')
    if (e.status !== 1) throw new Error(`oasdiff failed: ${e.stderr ?? ''}`)
    return (e.stdout ?? '').split('\n').filter((l) => l.trim() !== '')
  }
}

const major = (v: string) => Number(v.split('.')[0])
const read = (file: string) => JSON.parse(readFileSync(new URL(file, root), 'utf8')) as Json

/** Breaking changes of the generated documents against the baseline (API and events). */
export function breakingChanges(dir = GENERATED, baseline = BASELINE): { api: string[]; events: string[] } {
  const file = (d: string, f: string) => fileURLToPath(new URL(`${d}/${f}`, root))
  const api = apiBreakingChanges(file(baseline, 'openapi.json'), file(dir, 'openapi.json'))
  const events = eventBreakingChanges(read(`${baseline}/asyncapi.json`), read(`${dir}/asyncapi.json`))
  return { api, events }
}

/** The documents of `doc` written to a scratch folder, for oasdiff (which reads files). */
export function scratchDocuments(docs: { openapi: Json; asyncapi: Json }): { dir: string; drop: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'contracts-'))
  writeFileSync(join(dir, 'openapi.json'), JSON.stringify(docs.openapi))
  writeFileSync(join(dir, 'asyncapi.json'), JSON.stringify(docs.asyncapi))
  return { dir, drop: () => rmSync(dir, { recursive: true, force: true }) }
}

if (import.meta.main) {
  const { manifests } = await import('./services.ts')
  const command = process.argv[2] ?? 'check'
  const all = manifests()
  const problems = readProblems(all, await loadReads(all))
  const { api, events } = breakingChanges()
  if (command === 'check') {
    for (const p of problems) console.error(`reads: ${p}`)
    for (const p of api) console.error(`api: ${p}`)
    for (const p of events) console.error(`events: ${p}`)
    if (problems.length + api.length + events.length > 0) process.exit(1)
    console.log('contracts: every consumer’s reads are met; nothing breaks the baseline')
  } else if (command === 'baseline') {
    const version = (d: string) => (read(`${d}/openapi.json`).info as { version: string }).version
    if (api.length > 0 && major(version(GENERATED)) <= major(version(BASELINE))) {
      for (const p of api) console.error(`api: ${p}`)
      console.error(
        `these changes break API clients: bump API_VERSION's major (libs/contracts/src/api.ts) first`
      )
      process.exit(1)
    }
    if (events.length > 0) {
      for (const p of events) console.error(`events: ${p}`)
      console.error(
        'these changes break consumers: bump the event’s version and keep the previous one (libs/contracts/src/events.ts)'
      )
      process.exit(1)
    }
    for (const f of ['openapi.json', 'asyncapi.json'])
      writeFileSync(new URL(`${BASELINE}/${f}`, root), readFileSync(new URL(`${GENERATED}/${f}`, root)))
    console.log(`baseline renewed from ${GENERATED}`)
  } else {
    console.error('usage: node scripts/contracts.ts check|baseline')
    process.exit(2)
  }
}
