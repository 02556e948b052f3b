// `npm run migrate`: the catalog's migrations and the messaging tables, then exit.
import { runMigrate } from '@platform/service'
import { manifest } from './config.ts'

await runMigrate(manifest)
