// The only file that touches the process: read config, listen, close on signals.
// Start it with `node --import ./src/instrumentation.ts src/server.ts` (npm start) so tracing is
// set up before any module loads; the import below only hands over the telemetry handle.
import { telemetry } from './instrumentation.ts'
import closeWithGrace from 'close-with-grace'
import { tuneGarbageCollector } from '@platform/http-kit'
import { buildApp } from './app.ts'
import { readConfig } from './config.ts'
import { orExit } from './startup.ts'

tuneGarbageCollector()

const config = await orExit('gateway: configuration', () => readConfig(process.env))
const app = await orExit('gateway could not start', () => buildApp(config))
closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error')
  await app.close() // not ready → deregister → drain → stop consumers → flush → close pools
  await telemetry.shutdown()
})
await orExit('gateway could not listen', () => app.listen({ host: config.HOST, port: config.PORT }))
