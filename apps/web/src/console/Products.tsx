import { useState } from 'preact/hooks'
import type { Page as PageOf, Product, ProductInput } from '@platform/contracts'
import { call, get } from '../api.ts'
import { money } from '../format.ts'
import { useResource } from '../hooks.ts'
import { ErrorNotice, Loading } from '../components/ui.tsx'

/** The form's fields as the API takes them; prices are typed in major units. */
function fromForm(form: HTMLFormElement): ProductInput {
  const data = new FormData(form)
  const text = (name: string) => String(data.get(name) ?? '').trim()
  return {
    sku: text('sku'),
    name: text('name'),
    description: text('description'),
    priceMinor: Math.round(Number(text('price')) * 100),
    currency: text('currency').toUpperCase(),
    stock: Number(text('stock')),
    active: data.get('active') === 'on'
  }
}

function ProductForm({ product, onSaved }: { product?: Product; onSaved: (p: Product) => void }) {
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const id = product?.id ?? 'new'

  async function submit(event: SubmitEvent) {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      const body = fromForm(event.currentTarget as HTMLFormElement)
      const { body: saved } = product
        ? await call<Product>(`/products/${product.id}`, {
            method: 'PUT',
            body,
            headers: { 'if-match': `"${product.version}"` }
          })
        : await call<Product>('/products', { method: 'POST', body })
      onSaved(saved)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form class="grid-form" onSubmit={submit} aria-label={product ? `Edit ${product.name}` : 'New product'}>
      <label for={`sku-${id}`}>SKU</label>
      <input id={`sku-${id}`} name="sku" required maxLength={64} defaultValue={product?.sku ?? ''} />
      <label for={`name-${id}`}>Name</label>
      <input id={`name-${id}`} name="name" required maxLength={200} defaultValue={product?.name ?? ''} />
      <label for={`description-${id}`}>Description</label>
      <input
        id={`description-${id}`}
        name="description"
        maxLength={2000}
        defaultValue={product?.description ?? ''}
      />
      <label for={`price-${id}`}>Price</label>
      <input
        id={`price-${id}`}
        name="price"
        type="number"
        min="0"
        step="0.01"
        required
        defaultValue={product ? String(product.priceMinor / 100) : ''}
      />
      <label for={`currency-${id}`}>Currency</label>
      <input
        id={`currency-${id}`}
        name="currency"
        required
        pattern="[A-Za-z]{3}"
        defaultValue={product?.currency ?? 'EUR'}
      />
      <label for={`stock-${id}`}>Stock</label>
      <input
        id={`stock-${id}`}
        name="stock"
        type="number"
        min="0"
        required
        defaultValue={String(product?.stock ?? 0)}
      />
      <label for={`active-${id}`}>On sale</label>
      <input id={`active-${id}`} name="active" type="checkbox" defaultChecked={product?.active ?? true} />
      <ErrorNotice error={error} />
      <button type="submit" disabled={busy}>
        {product ? 'Save' : 'Create'}
      </button>
    </form>
  )
}

export function Products() {
  const [q, setQ] = useState('')
  const products = useResource(
    (signal) => get<PageOf<Product>>(`/products?limit=20${q ? `&q=${encodeURIComponent(q)}` : ''}`, signal),
    [q]
  )
  const [editing, setEditing] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)

  async function deactivate(p: Product) {
    setError(null)
    try {
      await call<Product>(`/products/${p.id}`, {
        method: 'PATCH',
        body: { active: false },
        headers: { 'if-match': `"${p.version}"` }
      })
      setSaved(`${p.name} is no longer on sale.`)
      products.reload()
    } catch (err) {
      setError(err)
    }
  }

  return (
    <>
      <details>
        <summary>New product</summary>
        <ProductForm
          onSaved={(p) => {
            setSaved(`${p.name} created.`)
            products.reload()
          }}
        />
      </details>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          setQ(String(new FormData(e.currentTarget as HTMLFormElement).get('q') ?? '').trim())
        }}
      >
        <label for="admin-search">Find products</label>
        <input id="admin-search" name="q" type="search" maxLength={200} />
        <button type="submit">Find</button>
      </form>
      <p role="status" class="muted">
        {saved ?? ''}
      </p>
      <ErrorNotice error={products.error ?? error} onRetry={products.reload} />
      {products.loading && !products.data && <Loading />}
      <table>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">Price</th>
            <th scope="col">Stock</th>
            <th scope="col">On sale</th>
            <th scope="col">Version</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {products.data?.items.map((p) => (
            <tr key={p.id} data-testid="admin-product">
              <td colSpan={editing === p.id ? 6 : 1}>
                {p.name}
                {editing === p.id && (
                  <ProductForm
                    product={p}
                    onSaved={(s) => {
                      setEditing(null)
                      setSaved(`${s.name} saved (version ${s.version}).`)
                      products.reload()
                    }}
                  />
                )}
              </td>
              {editing !== p.id && (
                <>
                  <td>{money(p.priceMinor, p.currency)}</td>
                  <td>{p.stock}</td>
                  <td>{p.active ? 'yes' : 'no'}</td>
                  <td>{p.version}</td>
                  <td>
                    <button type="button" class="link" onClick={() => setEditing(p.id)}>
                      Edit<span class="visually-hidden"> {p.name}</span>
                    </button>
                    {p.active && (
                      <button type="button" class="link" onClick={() => deactivate(p)}>
                        Take off sale<span class="visually-hidden"> {p.name}</span>
                      </button>
                    )}
                  </td>
                </>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
