import { AppError } from '@platform/errors'
import type { Pool, PoolClient } from '@platform/postgres'
import type { Product, ProductInput, ProductPatch, SortKey } from '../domain/product.ts'
import { decodeCursor, encodeCursor } from './cursor.ts'

type Db = Pool | PoolClient

interface ProductRow {
  id: string
  sku: string
  name: string
  description: string
  price_minor: string
  currency: string
  stock: number
  active: boolean
  version: number
  created_at: Date
  updated_at: Date
}

const COLUMNS =
  'id, sku, name, description, price_minor, currency, stock, active, version, created_at, updated_at'

function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    priceMinor: Number(row.price_minor),
    currency: row.currency,
    stock: row.stock,
    active: row.active,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

const SORT_COLUMN: Record<SortKey, string> = { name: 'name', price: 'price_minor' }

export interface ListQuery {
  limit: number
  cursor?: string
  q?: string
  active?: boolean
  sort: SortKey
}

export async function findProduct(db: Db, id: string): Promise<Product | undefined> {
  const { rows } = await db.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id = $1`, [id])
  return rows[0] && toProduct(rows[0])
}

export async function findProducts(db: Db, ids: string[]): Promise<Product[]> {
  const { rows } = await db.query<ProductRow>(`SELECT ${COLUMNS} FROM products WHERE id = ANY($1::uuid[])`, [
    ids
  ])
  return rows.map(toProduct)
}

/** One page in `sort` order; keyset pagination, so a page costs the same wherever it starts. */
export async function listProducts(
  db: Db,
  query: ListQuery
): Promise<{ items: Product[]; nextCursor?: string }> {
  const column = SORT_COLUMN[query.sort]
  const where: string[] = []
  const params: unknown[] = []
  if (query.q) {
    params.push(query.q)
    where.push(
      `to_tsvector('simple', name || ' ' || description) @@ plainto_tsquery('simple', $${params.length})`
    )
  }
  if (query.active !== undefined) {
    params.push(query.active)
    where.push(`active = $${params.length}`)
  }
  if (query.cursor) {
    const cursor = decodeCursor(query.cursor, query.sort)
    if (!cursor) throw new AppError(400, 'INVALID_CURSOR', 'the cursor is not valid for this query')
    params.push(cursor.value, cursor.id)
    const cast = query.sort === 'price' ? '::bigint' : ''
    where.push(`(${column}, id) > ($${params.length - 1}${cast}, $${params.length}::uuid)`)
  }
  params.push(query.limit + 1)
  const { rows } = await db.query<ProductRow>(
    `SELECT ${COLUMNS} FROM products ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${column}, id LIMIT $${params.length}`,
    params
  )
  const items = rows.slice(0, query.limit).map(toProduct)
  if (rows.length <= query.limit) return { items }
  const last = rows[query.limit - 1]!
  return {
    items,
    nextCursor: encodeCursor({
      sort: query.sort,
      value: query.sort === 'price' ? last.price_minor : last.name,
      id: last.id
    })
  }
}

function duplicateSku(err: unknown): never {
  if ((err as { code?: string; constraint?: string }).code === '23505') {
    throw new AppError(409, 'SKU_TAKEN', 'a product with this SKU already exists')
  }
  throw err
}

export async function insertProduct(db: Db, id: string, input: ProductInput): Promise<Product> {
  const { rows } = await db
    .query<ProductRow>(
      `INSERT INTO products (id, sku, name, description, price_minor, currency, stock, active)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [
        id,
        input.sku,
        input.name,
        input.description,
        input.priceMinor,
        input.currency,
        input.stock,
        input.active
      ]
    )
    .catch(duplicateSku)
  return toProduct(rows[0]!)
}

const PATCH_COLUMNS: Record<keyof ProductPatch, string> = {
  sku: 'sku',
  name: 'name',
  description: 'description',
  priceMinor: 'price_minor',
  currency: 'currency',
  stock: 'stock',
  active: 'active'
}

/**
 * Applies `changes` when the stored version is `expectedVersion`. Returns the new product,
 * 'not_found', or 'version_mismatch' (someone else changed it first).
 */
export async function updateProduct(
  db: Db,
  id: string,
  expectedVersion: number,
  changes: ProductPatch
): Promise<Product | 'not_found' | 'version_mismatch'> {
  const entries = Object.entries(changes).filter(([, v]) => v !== undefined) as Array<
    [keyof ProductPatch, unknown]
  >
  const sets = entries.map(([key], i) => `${PATCH_COLUMNS[key]} = $${i + 3}`)
  const { rows } = await db
    .query<ProductRow>(
      `UPDATE products SET ${[...sets, 'version = version + 1', 'updated_at = now()'].join(', ')}
        WHERE id = $1 AND version = $2 RETURNING ${COLUMNS}`,
      [id, expectedVersion, ...entries.map(([, v]) => v)]
    )
    .catch(duplicateSku)
  if (rows[0]) return toProduct(rows[0])
  return (await findProduct(db, id)) ? 'version_mismatch' : 'not_found'
}

export async function deleteProduct(
  db: Db,
  id: string,
  expectedVersion: number
): Promise<'deleted' | 'not_found' | 'version_mismatch'> {
  const { rowCount } = await db.query('DELETE FROM products WHERE id = $1 AND version = $2', [
    id,
    expectedVersion
  ])
  if (rowCount) return 'deleted'
  return (await findProduct(db, id)) ? 'version_mismatch' : 'not_found'
}
