// A hello-world server for the benchmarks. Usage: node hello.ts plain|kit; prints its port.
// With kit, load ./traced.ts first (--import) to measure the kit with tracing. The kit server starts
// as every service's server.ts does: tuneGarbageCollector() first. With BENCH_BUSY_US the handler
// first spins that many µs: a fixed cost in plain JavaScript, the host's reference (bench/README.md).
import Fastify from 'fastify'
import { httpKit, serverOptions, tuneGarbageCollector } from '@platform/http-kit'
import { createMetrics } from '@platform/metrics'

const mode = process.argv[2] ?? 'plain'
if (mode === 'kit') tuneGarbageCollector()
const app =
  mode === 'plain' ? Fastify({ logger: false }) : Fastify(serverOptions({ logger: { level: 'warn' } }))
if (mode === 'kit') await app.register(httpKit, { metrics: createMetrics({ service: 'bench' }) })
const busyNs = BigInt(Math.round(Number(process.env.BENCH_BUSY_US ?? 0) * 1000))
app.get(
  '/hello',
  busyNs > 0n
    ? async () => {
        const start = process.hrtime.bigint()
        while (process.hrtime.bigint() - start < busyNs);
        return { hello: 'world' }
      }
    : async () => ({ hello: 'world' })
)
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`)
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
