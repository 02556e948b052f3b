// nx g @platform/tools:service <name> — a new service: its folder (manifest, package, wiring on the
// service base, a route with a migration, a test), then every entry the manifests generate
// (compose, the chart, the database init, the topics, the gateway's routes) and npm install.
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatFiles, generateFiles, type GeneratorCallback, type Tree } from '@nx/devkit'

export interface ServiceSchema {
  name: string
  port?: number
  access?: 'public' | 'user' | 'admin'
  skipGenerate?: boolean
}

interface ManifestLike {
  name: string
  port: number
  routes?: Array<{ prefix: string }>
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/
const templates = join(dirname(fileURLToPath(import.meta.url)), '../../files/service')

/** The services of the workspace as their manifests say. */
function manifests(tree: Tree): ManifestLike[] {
  return tree
    .children('services')
    .filter((dir) => tree.exists(`services/${dir}/service.json`))
    .map((dir) => JSON.parse(tree.read(`services/${dir}/service.json`, 'utf8')!) as ManifestLike)
}

export default async function serviceGenerator(
  tree: Tree,
  options: ServiceSchema
): Promise<GeneratorCallback | undefined> {
  const { name } = options
  if (!NAME.test(name) || name.length > 30)
    throw new Error(`"${name}": a service name is lowercase words joined by dashes (billing, fraud-check)`)
  const dir = `services/${name}`
  if (tree.exists(dir)) throw new Error(`${dir} exists already`)
  const existing = manifests(tree)
  const port = options.port ?? Math.max(2999, ...existing.map((m) => m.port)) + 1
  const taken = existing.find((m) => m.port === port)
  if (taken) throw new Error(`port ${port} is ${taken.name}'s`)
  const prefix = `/api/v1/${name}`
  const clash = existing.find((m) =>
    (m.routes ?? []).some((r) => r.prefix === prefix || prefix.startsWith(`${r.prefix}/`))
  )
  if (clash) throw new Error(`${prefix} is under ${clash.name}'s routes`)

  generateFiles(tree, templates, dir, {
    name,
    port,
    database: name.replaceAll('-', '_'),
    prefix,
    access: options.access ?? 'user',
    tmpl: ''
  })
  await formatFiles(tree)
  if (options.skipGenerate) return undefined
  return () => {
    // The same generator `npm run generate` runs, now that the manifest is on disk.
    execFileSync(process.execPath, ['--conditions=development', 'scripts/generate.ts'], {
      cwd: tree.root,
      stdio: 'inherit'
    })
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
      cwd: tree.root,
      stdio: 'inherit'
    })
  }
}
