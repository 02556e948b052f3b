// A hello-world server for the benchmarks. Usage: node hello.ts plain|kit; prints its port.
// With kit, load ./traced.ts first (--import) to measure the kit with tracing. The kit server starts
// as every service's server.ts does: tuneGarbageCollector() first.
import Fastify from 'fastify'
import { httpKit, serverOptions, tuneGarbageCollector } from '@platform/http-kit'
import { createMetrics } from '@platform/metrics'

const mode = process.argv[2] ?? 'plain'
if (mode === 'kit') tuneGarbageCollector()
const app =
  mode === 'plain' ? Fastify({ logger: false }) : Fastify(serverOptions({ logger: { level: 'warn' } }))
if (mode === 'kit') await app.register(httpKit, { metrics: createMetrics({ service: 'bench' }) })
app.get('/hello', async () => ({ hello: 'world' }))
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`)
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
