// The baseline for order placement: the same durable transaction the order service commits
// (order, lines, idempotency record, outbox row) written straight with pg behind plain Fastify,
// without pricing, validation, the kit or the catalog call. Usage: node order-baseline.ts <db-url>
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'

const pool = new pg.Pool({ connectionString: process.argv[2], max: 10 })
const app = Fastify({ logger: false })
app.post('/orders', async (request, reply) => {
  const body = request.body as { lines: Array<{ productId: string; quantity: number }> }
  const id = randomUUID()
  const now = new Date().toISOString()
  const order = {
    id,
    customerId: 'bench',
    status: 'PENDING',
    lines: body.lines.map((l) => ({ ...l, unitPriceMinor: 1000 })),
    totalMinor: 1000,
    currency: 'EUR',
    createdAt: now,
    updatedAt: now
  }
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query(
      `WITH o AS (INSERT INTO orders (id, customer_id, status, total_minor, currency, created_at, updated_at) VALUES ($1, 'bench', 'PENDING', 1000, 'EUR', $2, $2)),
       l AS (INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_minor) SELECT $1, n, p, q, 1000 FROM unnest($3::uuid[], $4::int[]) WITH ORDINALITY AS x(p, q, n))
       INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, response_status, response_body) VALUES ('bench', $5, 'h', $1, 201, $6)`,
      [
        id,
        now,
        body.lines.map((l) => l.productId),
        body.lines.map((l) => l.quantity),
        request.headers['idempotency-key'],
        JSON.stringify(order)
      ]
    )
    await client.query(
      `WITH row AS (INSERT INTO outbox (id, topic, key, value, headers) VALUES ($1, 'bench', $2, $3, '{}') RETURNING 1) SELECT pg_notify('outbox_bench', '') FROM row`,
      [randomUUID(), id, JSON.stringify(order)]
    )
    await client.query('COMMIT')
  } finally {
    client.release()
  }
  return reply.code(201).send(order)
})
await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${(app.server.address() as { port: number }).port}\n`)
process.once(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0))
)
