// Keeps in node_modules only the production dependency tree of one workspace, for its image.
// (`npm ci --omit=dev --workspace X` still installs every workspace's production dependencies.)
// Usage, from the repository root after `npm ci --omit=dev`: node scripts/docker/prune.mjs services/gateway
import { execFileSync } from 'node:child_process'
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import process from 'node:process'

const workspace = process.argv[2]
if (!workspace) throw new Error('usage: node scripts/docker/prune.mjs <workspace folder>')
const root = process.cwd()
let listing = ''
try {
  listing = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable', '--workspace', workspace], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024
  })
} catch (err) {
  listing = err.stdout ?? '' // npm ls exits 1 on warnings; its listing is still complete
}
// Packages the lock marks optional are reachable only through optional dependencies, which the
// services never load (a Cloudflare socket for pg, uglify-js for handlebars' command line).
const lock = JSON.parse(readFileSync(join(process.cwd(), 'package-lock.json'), 'utf8'))
const optionalOnly = new Set(
  Object.entries(lock.packages)
    .filter(([, entry]) => entry.optional && !entry.dev && !entry.devOptional)
    .map(([path]) => path)
)
const keep = new Set()
for (const line of listing.split('\n').filter(Boolean)) {
  const path = relative(root, line)
  if (optionalOnly.has(path)) continue
  keep.add(path)
  // A workspace package (libs/x) is reached through its link node_modules/@platform/x.
  if (!path.startsWith('node_modules')) keep.add(join('node_modules', '@platform', path.split('/').pop()))
}
if (keep.size < 2) throw new Error(`npm ls listed nothing for ${workspace}`)

let removed = 0
function prune(dir) {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue
    const path = join(dir, name)
    if (name.startsWith('@') && lstatSync(path).isDirectory() && !lstatSync(path).isSymbolicLink()) {
      prune(path) // a scope folder: look at its packages
      continue
    }
    const rel = relative(root, path)
    if (!keep.has(rel)) {
      rmSync(path, { recursive: true, force: true })
      removed++
      continue
    }
    const nested = join(path, 'node_modules')
    if (!lstatSync(path).isSymbolicLink() && exists(nested)) prune(nested)
  }
}
function exists(path) {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}
prune(join(root, 'node_modules'))
// Workspaces keep dependencies of their own when the root holds another version of them.
for (const path of keep) {
  if (path.startsWith('node_modules')) continue
  const nested = join(root, path, 'node_modules')
  if (exists(nested)) prune(nested)
}

// What never runs: TypeScript (declarations, and sources some packages ship beside their
// JavaScript: Node never strips types under node_modules), source maps, docs and packages' own
// tests (licences stay).
const NEVER_RUNS = [/\.[cm]?ts$/, /\.map$/, /\.md$/i, /\.markdown$/i]
const NEVER_RUN_DIRS = new Set(['test', 'tests', '__tests__', 'docs', 'example', 'examples', '.github'])
let bytes = 0
function clean(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isSymbolicLink()) continue
    if (entry.isDirectory()) {
      if (NEVER_RUN_DIRS.has(entry.name)) {
        bytes += size(path)
        rmSync(path, { recursive: true, force: true })
      } else clean(path)
    } else if (NEVER_RUNS.some((re) => re.test(entry.name)) && !/^licen[cs]e/i.test(entry.name)) {
      bytes += lstatSync(path).size
      rmSync(path)
    }
  }
}
function size(path) {
  const st = lstatSync(path)
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((sum, name) => sum + size(join(path, name)), 0)
}
clean(join(root, 'node_modules'))
for (const path of keep)
  if (!path.startsWith('node_modules') && exists(join(root, path, 'node_modules')))
    clean(join(root, path, 'node_modules'))
// @types packages are declarations only.
rmSync(join(root, 'node_modules', '@types'), { recursive: true, force: true })
process.stdout.write(
  `prune: kept ${keep.size} packages of ${workspace}, removed ${removed}, and ${(bytes / 1e6).toFixed(1)} MB that never runs\n`
)
