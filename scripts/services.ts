// The services of this repository, from their manifests (services/<name>/service.json), for the
// shell scripts. Usage: node scripts/services.ts [names|table]
//   names  one per line, services first and the edge (the gateway) last: the order they start in
//   table  name port database redis smtp edge streams, one service per line ('-' for none)
import { readdirSync } from 'node:fs'
import { loadManifest, type Manifest } from '../libs/service/src/manifest.ts'

const root = new URL('../services/', import.meta.url)

/** Every service's manifest, the edge last. */
export function manifests(): Manifest[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && readdirSync(new URL(`${d.name}/`, root)).includes('service.json'))
    .map((d) => loadManifest(new URL(`${d.name}/`, root)))
    .sort((a, b) => Number(a.edge) - Number(b.edge) || a.name.localeCompare(b.name))
}

if (import.meta.main) {
  const all = manifests()
  const flag = (on: boolean) => (on ? 'yes' : 'no')
  switch (process.argv[2] ?? 'names') {
    case 'names':
      for (const m of all) console.log(m.name)
      break
    case 'table':
      for (const m of all)
        console.log(
          [
            m.name,
            m.port,
            m.database ?? '-',
            flag(m.redis),
            flag(m.smtp),
            flag(m.edge),
            flag(m.streams)
          ].join(' ')
        )
      break
    default:
      process.stderr.write('usage: node scripts/services.ts [names|table]\n')
      process.exit(2)
  }
}
