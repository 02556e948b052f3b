// `npm start`: node --import @platform/service/instrumentation src/server.ts (tracing loads first).
import { runService } from '@platform/service'
import { buildApp } from './app.ts'
import { manifest, readConfig } from './config.ts'

await runService({ manifest, readConfig, buildApp })
