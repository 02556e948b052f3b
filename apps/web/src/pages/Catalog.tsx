import { useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import type { Page as PageOf, Product } from '@platform/contracts'
import { get } from '../api.ts'
import { addToCart } from '../cart.ts'
import { money } from '../format.ts'
import { useResource } from '../hooks.ts'
import { ErrorNotice, Loading, Page } from '../components/ui.tsx'

const PAGE_SIZE = 12

/** The catalog: search, sort, and pages by cursor (the page's cursors are kept in the URL). */
export function Catalog() {
  const { query, route } = useLocation()
  const q = query.q ?? ''
  const sort = query.sort === 'price' ? 'price' : 'name'
  const cursor = query.cursor
  const [added, setAdded] = useState<string | null>(null)
  const [history, setHistory] = useState<string[]>([])

  const products = useResource(
    (signal) => {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE), active: 'true', sort })
      if (q) params.set('q', q)
      if (cursor) params.set('cursor', cursor)
      return get<PageOf<Product>>(`/products?${params}`, signal)
    },
    [q, sort, cursor]
  )

  function go(next: { q?: string; sort?: string; cursor?: string }) {
    const params = new URLSearchParams()
    const nq = next.q ?? q
    if (nq) params.set('q', nq)
    params.set('sort', next.sort ?? sort)
    if (next.cursor) params.set('cursor', next.cursor)
    route(`/?${params}`)
  }

  function search(event: SubmitEvent) {
    event.preventDefault()
    const value = new FormData(event.currentTarget as HTMLFormElement).get('q')
    setHistory([])
    go({ q: String(value ?? '').trim() })
  }

  return (
    <Page title="Shop">
      <form class="toolbar" role="search" onSubmit={search}>
        <label for="search">Search products</label>
        <input id="search" name="q" type="search" defaultValue={q} maxLength={200} />
        <button type="submit">Search</button>
        <label for="sort">Sort by</label>
        <select
          id="sort"
          value={sort}
          onChange={(e) => {
            setHistory([])
            go({ sort: (e.currentTarget as HTMLSelectElement).value })
          }}
        >
          <option value="name">Name</option>
          <option value="price">Price</option>
        </select>
      </form>
      <ErrorNotice error={products.error} onRetry={products.reload} />
      {products.loading && !products.data && <Loading label="Loading products…" />}
      {products.data && products.data.items.length === 0 && (
        <p>{q ? `No product matches “${q}”.` : 'The catalog is empty.'}</p>
      )}
      <ul class="grid" aria-busy={products.loading}>
        {products.data?.items.map((p) => (
          <li key={p.id} class="card" data-testid="product-card">
            <h2>
              <a href={`/products/${p.id}`}>{p.name}</a>
            </h2>
            <p class="muted">{p.description}</p>
            <p class="price">{money(p.priceMinor, p.currency)}</p>
            <p class={p.stock > 0 ? 'stock' : 'stock out'}>
              {p.stock > 0 ? `${p.stock} in stock` : 'Out of stock'}
            </p>
            <button
              type="button"
              onClick={() => {
                addToCart(p)
                setAdded(p.name)
              }}
            >
              Add to cart<span class="visually-hidden">: {p.name}</span>
            </button>
          </li>
        ))}
      </ul>
      <p role="status" class="muted">
        {added ? `${added} added to your cart.` : ''}
      </p>
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          class="secondary"
          disabled={!cursor}
          onClick={() => {
            const previous = history.slice(0, -1)
            setHistory(previous)
            go({ cursor: history.at(-1) ?? '' })
          }}
        >
          Previous
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!products.data?.nextCursor}
          onClick={() => {
            setHistory([...history, cursor ?? ''])
            go({ cursor: products.data?.nextCursor ?? '' })
          }}
        >
          Next
        </button>
      </nav>
    </Page>
  )
}
