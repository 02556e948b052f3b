import type { SortKey } from '../domain/product.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface Cursor {
  sort: SortKey
  /** The last item's sort value (name, or price in minor units as a string) and id. */
  value: string
  id: string
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.value, cursor.id])).toString('base64url')
}

/** The cursor in `text`, or undefined when it is not one this service issued for `sort`. */
export function decodeCursor(text: string, sort: SortKey): Cursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== sort) return undefined
    const [, value, id] = parsed as [string, unknown, unknown]
    if (typeof value !== 'string' || typeof id !== 'string' || !UUID.test(id)) return undefined
    if (sort === 'price' && !/^\d{1,15}$/.test(value)) return undefined // minor units, as text
    return { sort, value, id }
  } catch {
    return undefined
  }
}
