import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'

const Name = Type.String({ pattern: '^[a-z][a-z0-9]*(-[a-z0-9]+)*$', maxLength: 30 })
const Topic = Type.String({ pattern: '^[a-z][a-z0-9-]*\\.[a-z][a-z0-9.-]*$' })

/** A public route prefix the edge forwards to the service, and who may call it. */
export const RouteSchema = Type.Object(
  {
    prefix: Type.String({ pattern: '^/api/v[0-9]+/[a-z0-9/-]+$' }),
    access: Type.Union([Type.Literal('public'), Type.Literal('user'), Type.Literal('admin')])
  },
  { additionalProperties: false }
)

/**
 * `services/<name>/service.json`: everything the rest of the platform needs to know about a
 * service. The native stack, the images, the database init, the compose file and the chart read
 * it; the service reads its name and port from it.
 */
export const ManifestSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    name: Name,
    /** The port it listens on in a container; natively (npm run up) it is 20000 + this. */
    port: Type.Integer({ minimum: 1024, maximum: 9999 }),
    /** The Postgres database it owns, and its role of the same name (password: the name in development). */
    database: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]*$', maxLength: 63 })),
    /** Uses Redis (cache, shared counters). */
    redis: Type.Boolean({ default: false }),
    /** Sends email through the SMTP server. */
    smtp: Type.Boolean({ default: false }),
    /** Other services it calls over HTTP, found through Consul. */
    calls: Type.Array(Name, { default: [] }),
    /** Topics it writes through its outbox, and topics it consumes. */
    produces: Type.Array(Topic, { default: [] }),
    consumes: Type.Array(Topic, { default: [] }),
    /** Public routes through the gateway; empty for an internal service. */
    routes: Type.Array(RouteSchema, { default: [] }),
    /** Holds long-lived responses (server-sent events): the edge routes them apart. */
    streams: Type.Boolean({ default: false }),
    /** The entry of the public API itself (the gateway): the edge sends everything else to it. */
    edge: Type.Boolean({ default: false }),
    /** How the compose file and the chart run it, where the defaults don't do. */
    deploy: Type.Optional(
      Type.Object(
        {
          /** Instances in the chart (default 1; the edge runs two in compose whatever this says). */
          replicas: Type.Optional(Type.Integer({ minimum: 1 })),
          /** A HorizontalPodAutoscaler from `replicas` to `replicas + 2`. */
          autoscaling: Type.Optional(Type.Boolean()),
          /** The PodDisruptionBudget's minAvailable (default 0). */
          minAvailable: Type.Optional(Type.Integer({ minimum: 0 })),
          /** Variables of its own the same in compose and the chart. */
          env: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Z][A-Z0-9_]*$' }), Type.String())),
          /** Compose one-shot jobs it starts after (e.g. a seed). */
          after: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]*$' })))
        },
        { additionalProperties: false }
      )
    )
  },
  { additionalProperties: false }
)

export type Manifest = Static<typeof ManifestSchema> & {
  /** From the service's package.json. */
  version: string
  description: string
  /** The service's folder (where service.json is). */
  dir: string
}

export class ManifestError extends Error {
  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.join('; ')}`)
    this.name = 'ManifestError'
  }
}

/** Checks a manifest's content; the defaults fill what it leaves out. */
export function parseManifest(
  content: unknown,
  file: string,
  pkg: { version?: string; description?: string }
): Manifest {
  const value = Value.Default(ManifestSchema, structuredClone(content))
  const errors = [...Value.Errors(ManifestSchema, value)].map((e) => `${e.instancePath || '/'} ${e.message}`)
  if (errors.length > 0) throw new ManifestError(file, errors)
  const manifest = value as Static<typeof ManifestSchema>
  const overlap = manifest.produces.filter((t) => manifest.consumes.includes(t))
  if (overlap.length > 0) throw new ManifestError(file, [`produces and consumes ${overlap.join(', ')}`])
  if (manifest.calls.includes(manifest.name)) throw new ManifestError(file, ['calls itself'])
  return {
    ...manifest,
    version: pkg.version ?? '0.0.0',
    description: pkg.description ?? '',
    dir: dirname(file)
  }
}

/**
 * Reads a service's manifest: `service.json` in `dir` (a path or a `file:` URL), with the version
 * and description of the `package.json` beside it.
 */
export function loadManifest(dir: string | URL): Manifest {
  const base = typeof dir === 'string' ? new URL(`file://${dir.replace(/\/?$/, '/')}`) : dir
  const file = new URL('service.json', base)
  const pkg = JSON.parse(readFileSync(new URL('package.json', base), 'utf8')) as object
  return parseManifest(JSON.parse(readFileSync(file, 'utf8')), file.pathname, pkg)
}
