// The least a gateway can be: plain Fastify forwarding GET /api/v1/products/:id to an upstream's
// /hello through an undici keep-alive pool, passing the body back. NGINX in front of it and a hello
// world behind it make the NGH baseline of shared/PERFORMANCE.md. Usage: node proxy.ts UPSTREAM_URL
import Fastify from 'fastify'
import { Pool } from 'undici'

const upstream = new Pool(process.argv[2]!, { connections: 64 })
const app = Fastify({ logger: false })
app.get('/api/v1/products/:id', async (_request, reply) => {
  const res = await upstream.request({ method: 'GET', path: '/hello' })
  reply.code(res.statusCode).header('content-type', res.headers['content-type'])
  return reply.send(Buffer.from(await res.body.arrayBuffer()))
})
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`)
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
