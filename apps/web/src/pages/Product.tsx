import { useState } from 'preact/hooks'
import { useRoute } from 'preact-iso'
import type { Product as ProductT } from '@platform/contracts'
import { get } from '../api.ts'
import { addToCart, MAX_QUANTITY } from '../cart.ts'
import { money } from '../format.ts'
import { useResource } from '../hooks.ts'
import { ErrorNotice, Loading, Page } from '../components/ui.tsx'

export function Product() {
  const { params } = useRoute()
  const id = params.id ?? ''
  const product = useResource((signal) => get<ProductT>(`/products/${encodeURIComponent(id)}`, signal), [id])
  const [quantity, setQuantity] = useState(1)
  const [added, setAdded] = useState(false)
  const p = product.data

  return (
    <Page title={p?.name ?? 'Product'}>
      <ErrorNotice error={product.error} onRetry={product.reload} />
      {product.loading && !p && <Loading />}
      {p && (
        <article class="product">
          <p>{p.description}</p>
          <p class="price">{money(p.priceMinor, p.currency)}</p>
          <p class={p.stock > 0 ? 'stock' : 'stock out'}>
            {p.stock > 0 ? `${p.stock} in stock` : 'Out of stock'} · SKU {p.sku}
          </p>
          {!p.active && <p class="notice">This product is no longer sold.</p>}
          <form
            class="toolbar"
            onSubmit={(e) => {
              e.preventDefault()
              addToCart(p, quantity)
              setAdded(true)
            }}
          >
            <label for="quantity">Quantity</label>
            <input
              id="quantity"
              type="number"
              min={1}
              max={MAX_QUANTITY}
              value={quantity}
              onInput={(e) =>
                setQuantity(Math.max(1, Number((e.currentTarget as HTMLInputElement).value) || 1))
              }
            />
            <button type="submit" disabled={!p.active}>
              Add to cart
            </button>
          </form>
          <p role="status" class="muted">
            {added ? (
              <>
                Added. <a href="/cart">Go to your cart</a>
              </>
            ) : (
              ''
            )}
          </p>
        </article>
      )}
      <p>
        <a href="/">← Back to the shop</a>
      </p>
    </Page>
  )
}
