import { useRef, useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import type { Order, PlaceOrder } from '@platform/contracts'
import { call } from '../api.ts'
import { cart, clearCart, MAX_QUANTITY, setQuantity } from '../cart.ts'
import { money } from '../format.ts'
import { session } from '../session.ts'
import { ErrorNotice, Page } from '../components/ui.tsx'

const PENDING_KEY = 'platform.checkout'

/**
 * The key of the order this cart is being placed as. Kept until the order is placed, so a double
 * click, a retry after an error or a reload sends the same key and the API places one order.
 */
function checkoutKey(body: string): string {
  const saved = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as {
    key: string
    body: string
  } | null
  if (saved && saved.body === body) return saved.key
  const key = crypto.randomUUID()
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ key, body }))
  return key
}

export function Cart() {
  const { route } = useLocation()
  const [error, setError] = useState<unknown>(null)
  const [placing, setPlacing] = useState(false)
  const inFlight = useRef(false)
  const lines = cart.value
  // One order takes one currency (the API says MIXED_CURRENCIES otherwise): say so before checkout.
  const totals = new Map<string, number>()
  for (const l of lines) totals.set(l.currency, (totals.get(l.currency) ?? 0) + l.unitPriceMinor * l.quantity)
  const mixed = totals.size > 1

  async function checkout() {
    if (inFlight.current) return
    if (!session.value) {
      route('/signin?next=/cart')
      return
    }
    inFlight.current = true
    setPlacing(true)
    setError(null)
    const order: PlaceOrder = { lines: lines.map((l) => ({ productId: l.productId, quantity: l.quantity })) }
    const body = JSON.stringify(order)
    try {
      const { body: placed } = await call<Order>('/orders', {
        method: 'POST',
        body: order,
        headers: { 'idempotency-key': checkoutKey(body) }
      })
      sessionStorage.removeItem(PENDING_KEY)
      clearCart()
      route(`/orders/${placed.id}`)
    } catch (err) {
      setError(err)
    } finally {
      inFlight.current = false
      setPlacing(false)
    }
  }

  return (
    <Page title="Your cart">
      {lines.length === 0 ? (
        <p>
          Your cart is empty. <a href="/">Browse the shop</a>
        </p>
      ) : (
        <>
          <table>
            <caption class="visually-hidden">Products in your cart</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Price</th>
                <th scope="col">Quantity</th>
                <th scope="col">Subtotal</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l) => (
                <tr key={l.productId} data-testid="cart-line">
                  <td>
                    <a href={`/products/${l.productId}`}>{l.name}</a>
                  </td>
                  <td>{money(l.unitPriceMinor, l.currency)}</td>
                  <td>
                    <input
                      type="number"
                      min={0}
                      max={MAX_QUANTITY}
                      value={l.quantity}
                      aria-label={`Quantity of ${l.name}`}
                      onChange={(e) =>
                        setQuantity(l.productId, Number((e.currentTarget as HTMLInputElement).value))
                      }
                    />
                    <button type="button" class="link" onClick={() => setQuantity(l.productId, 0)}>
                      Remove<span class="visually-hidden"> {l.name}</span>
                    </button>
                  </td>
                  <td>{money(l.unitPriceMinor * l.quantity, l.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="total">
            Total:{' '}
            <strong>{[...totals].map(([currency, total]) => money(total, currency)).join(' + ')}</strong>
          </p>
          {mixed && (
            <p class="notice" role="status">
              Your cart has prices in more than one currency; an order takes one. Remove the products in the
              other currencies to check out.
            </p>
          )}
          <ErrorNotice error={error} />
          <button type="button" onClick={checkout} disabled={placing || mixed} aria-busy={placing}>
            {placing ? 'Placing your order…' : session.value ? 'Place order' : 'Sign in to check out'}
          </button>
        </>
      )}
    </Page>
  )
}
