// What a change set touches, for the delivery pipeline (.github/workflows/ci.yml) and for a look
// before pushing: the Nx projects affected (Nx's own analysis — a lib's dependents, a lockfile
// change's users, everything for a shared setting), the service images to build, and whether the
// chart is packaged again.
// Usage: node scripts/affected.ts --base REF [--head REF] | --files a,b,…  [--github-output]
//   prints {"projects":[…],"roots":[…],"images":[…],"chart":true|false}; --github-output also
//   writes them as the step's outputs (JSON arrays; chart true or false) to $GITHUB_OUTPUT.
import { execFile } from 'node:child_process'
import { appendFile, readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { manifests } from './services.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../', import.meta.url))

export interface Affected {
  projects: string[]
  /** The projects' folders, for the commands that take paths (lint, the test runner). */
  roots: string[]
  images: string[]
  chart: boolean
}

/** What every image is built from besides its own project and what it depends on. */
const IMAGE_INPUTS = [/^\.dockerignore$/, /^tsconfig\.base\.json$/, /^\.nvmrc$/]
/** What only the services' images are built from. */
const SERVICE_IMAGE_INPUTS = [/^Dockerfile$/]
/** The edge's image: NGINX with the web app (project `web`, apps/web/Dockerfile). */
export const EDGE_IMAGE = 'edge'
const CHART_INPUTS = [/^helm\//]

/** Files changed between two commits (merge base of `base` and `head`, as a pull request shows). */
export async function changedFiles(base: string, head = 'HEAD'): Promise<string[]> {
  const { stdout } = await run('git', ['diff', '--name-only', '--no-renames', `${base}...${head}`], {
    cwd: root
  })
  return stdout.split('\n').filter(Boolean)
}

/** Each workspace's Nx project name (package.json "nx.name") and its folder. */
async function projectRoots(): Promise<Map<string, string>> {
  const roots = new Map<string, string>()
  for (const group of ['libs', 'services', 'tools']) {
    for (const dir of await readdir(new URL(`../${group}/`, import.meta.url), { withFileTypes: true })) {
      if (!dir.isDirectory()) continue
      const pkg = await readFile(
        new URL(`../${group}/${dir.name}/package.json`, import.meta.url),
        'utf8'
      ).catch(() => undefined)
      if (!pkg) continue
      const { name, nx } = JSON.parse(pkg) as { name: string; nx?: { name?: string } }
      roots.set(nx?.name ?? name.replace(/^@[^/]+\//, ''), `${group}/${dir.name}`)
    }
  }
  return roots
}

export async function affected(files: string[]): Promise<Affected> {
  if (files.length === 0) return { projects: [], roots: [], images: [], chart: false }
  const { stdout } = await run(
    'npx',
    ['nx', 'show', 'projects', '--affected', `--files=${files.join(',')}`, '--json'],
    { cwd: root, env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' }, maxBuffer: 16 << 20 }
  )
  const projects = (JSON.parse(stdout) as string[]).sort()
  const services = manifests().map((m) => m.name)
  const everyImage = files.some((f) => IMAGE_INPUTS.some((p) => p.test(f)))
  const everyService = everyImage || files.some((f) => SERVICE_IMAGE_INPUTS.some((p) => p.test(f)))
  const images = [
    ...services.filter((s) => everyService || projects.includes(s)),
    ...(everyImage || projects.includes('web') ? [EDGE_IMAGE] : [])
  ]
  const folders = await projectRoots()
  return {
    projects,
    roots: projects.map((p) => folders.get(p) ?? p),
    images,
    chart: images.length > 0 || files.some((f) => CHART_INPUTS.some((p) => p.test(f)))
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      head: { type: 'string' },
      files: { type: 'string' },
      'github-output': { type: 'boolean', default: false }
    }
  })
  if (!values.base && values.files === undefined) {
    process.stderr.write(
      'usage: node scripts/affected.ts --base REF [--head REF] | --files a,b,… [--github-output]\n'
    )
    process.exit(2)
  }
  const files = values.base
    ? await changedFiles(values.base, values.head)
    : (values.files ?? '').split(',').filter(Boolean)
  const result = await affected(files)
  console.log(JSON.stringify(result))
  const output = process.env.GITHUB_OUTPUT
  if (values['github-output'] && output) {
    await appendFile(
      output,
      `projects=${JSON.stringify(result.projects)}\nroots=${JSON.stringify(result.roots)}\nimages=${JSON.stringify(result.images)}\nchart=${result.chart}\n`
    )
  }
}
