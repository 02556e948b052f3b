// npm run seed: a realistic catalog for demos and benchmarks (SEED_COUNT products, default 1200).
// Deterministic: the same count gives the same products, and existing SKUs are left alone.
import { createHash } from 'node:crypto'
import Type from 'typebox'
import { readConfig } from '@platform/config'
import { orExit } from '@platform/service'
import { createPool } from '@platform/postgres'

const config = await orExit('configuration', () =>
  readConfig(
    Type.Object({
      DATABASE_URL: Type.String({ minLength: 1 }),
      SEED_COUNT: Type.Integer({ minimum: 1, maximum: 100_000, default: 1200 })
    }),
    process.env
  )
)

const adjectives = [
  'Classic',
  'Compact',
  'Deluxe',
  'Everyday',
  'Featherweight',
  'Heritage',
  'Modern',
  'Rugged',
  'Slim',
  'Studio',
  'Travel',
  'Urban'
]
const materials = [
  'Bamboo',
  'Canvas',
  'Ceramic',
  'Cotton',
  'Leather',
  'Linen',
  'Maple',
  'Oak',
  'Recycled',
  'Steel',
  'Walnut',
  'Wool'
]
const items = [
  'Backpack',
  'Bottle',
  'Desk Lamp',
  'Headphones',
  'Journal',
  'Kettle',
  'Mug',
  'Notebook',
  'Pen',
  'Planter',
  'Scarf',
  'Speaker',
  'Tote',
  'Wallet',
  'Watch'
]
const currencies = ['EUR', 'EUR', 'EUR', 'USD', 'GBP']

/** A stable UUID-shaped id from a SKU, so re-seeding names the same rows. */
function idFor(sku: string): string {
  const h = createHash('sha256').update(sku).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const rows = Array.from({ length: config.SEED_COUNT }, (_, i) => {
  const name = `${adjectives[i % adjectives.length]} ${materials[Math.floor(i / adjectives.length) % materials.length]} ${items[i % items.length]}`
  const sku = `SKU-${String(i + 1).padStart(5, '0')}`
  return {
    id: idFor(sku),
    sku,
    name,
    description: `${name}: made to last, tested in daily use. Item ${i + 1} of the demo catalog.`,
    priceMinor: 499 + ((i * 7919) % 25000),
    currency: currencies[i % currencies.length]!,
    stock: (i * 31) % 500,
    active: i % 23 !== 0
  }
})

const pool = createPool({ connectionString: config.DATABASE_URL, name: 'catalog-seed' })
await orExit('seed', async () => {
  try {
    let inserted = 0
    for (let i = 0; i < rows.length; i += 500) {
      const batch = rows.slice(i, i + 500)
      const { rowCount } = await pool.query(
        `INSERT INTO products (id, sku, name, description, price_minor, currency, stock, active)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::int[], $8::bool[])
         ON CONFLICT (sku) DO NOTHING`,
        [
          batch.map((r) => r.id),
          batch.map((r) => r.sku),
          batch.map((r) => r.name),
          batch.map((r) => r.description),
          batch.map((r) => r.priceMinor),
          batch.map((r) => r.currency),
          batch.map((r) => r.stock),
          batch.map((r) => r.active)
        ]
      )
      inserted += rowCount ?? 0
    }
    console.log(`seeded ${inserted} new products (${rows.length - inserted} already there)`)
  } finally {
    await pool.end()
  }
})
