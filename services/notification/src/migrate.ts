// `npm run migrate`: the notification service's migrations and the inbox, then exit.
import { runMigrate } from '@platform/service'
import { manifest } from './config.ts'

await runMigrate(manifest)
