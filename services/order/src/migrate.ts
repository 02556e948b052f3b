// `npm run migrate`: the order service's migrations and the messaging tables, then exit.
import { runMigrate } from '@platform/service'
import { migrationSets } from './app.ts'
import { manifest } from './config.ts'

await runMigrate(manifest, migrationSets)
