import { useEffect, useState } from 'preact/hooks'
import { useRoute } from 'preact-iso'
import type { Order as OrderT, Product } from '@platform/contracts'
import { call, get } from '../api.ts'
import { money, when } from '../format.ts'
import { useResource } from '../hooks.ts'
import { connected, received } from '../stream.ts'
import { ErrorNotice, Loading, Page, StatusBadge } from '../components/ui.tsx'

const EXPLAINED: Record<OrderT['status'], string> = {
  PENDING: 'We’re reserving your items. This page updates by itself.',
  CONFIRMED: 'Your items are reserved and your order is confirmed.',
  REJECTED: 'We couldn’t reserve your items, so the order was not taken. You have not been charged.',
  CANCELLED: 'This order was cancelled.'
}

export function Order() {
  const { params } = useRoute()
  const id = params.id ?? ''
  const order = useResource((signal) => get<OrderT>(`/orders/${encodeURIComponent(id)}`, signal), [id])
  const [current, setCurrent] = useState<OrderT | undefined>()
  const [error, setError] = useState<unknown>(null)
  const [cancelling, setCancelling] = useState(false)
  const o = current?.id === id ? current : order.data
  // Order lines name products by id: their names, read once (a product gone since shows its id).
  const productIds = order.data?.lines.map((l) => l.productId).join(',') ?? ''
  const names = useResource(
    async (signal) => {
      const entries = await Promise.all(
        productIds
          .split(',')
          .filter(Boolean)
          .map((pid) =>
            get<Product>(`/products/${pid}`, signal).then(
              (p) => [pid, p.name] as const,
              () => [pid, pid.slice(0, 8)] as const
            )
          )
      )
      return Object.fromEntries(entries)
    },
    [productIds]
  )

  // The notification stream says when this order is decided: read it again then.
  const news = received.value.filter((n) => n.orderId === id).length
  useEffect(() => {
    if (news > 0) order.reload()
  }, [news, id])
  useEffect(() => setCurrent(undefined), [order.data])

  async function cancel() {
    setCancelling(true)
    setError(null)
    try {
      setCurrent((await call<OrderT>(`/orders/${encodeURIComponent(id)}/cancel`, { method: 'POST' })).body)
    } catch (err) {
      setError(err)
    } finally {
      setCancelling(false)
    }
  }

  return (
    <Page title="Order">
      <ErrorNotice error={order.error} onRetry={order.reload} />
      {order.loading && !o && <Loading label="Loading the order…" />}
      {o && (
        <article>
          <p aria-live="polite">
            <StatusBadge status={o.status} /> {EXPLAINED[o.status]}
            {o.reason && o.status === 'REJECTED' && <span class="muted"> ({o.reason})</span>}
          </p>
          {o.status === 'PENDING' && !connected.value && <p class="muted">Live updates are reconnecting…</p>}
          <dl class="facts">
            <dt>Order</dt>
            <dd>
              <code>{o.id}</code>
            </dd>
            <dt>Placed</dt>
            <dd>{when(o.createdAt)}</dd>
            <dt>Total</dt>
            <dd>{money(o.totalMinor, o.currency)}</dd>
          </dl>
          <table>
            <caption class="visually-hidden">Items in this order</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Quantity</th>
                <th scope="col">Unit price</th>
              </tr>
            </thead>
            <tbody>
              {o.lines.map((l) => (
                <tr key={l.productId}>
                  <td>
                    <a href={`/products/${l.productId}`}>
                      {names.data?.[l.productId] ?? l.productId.slice(0, 8)}
                    </a>
                  </td>
                  <td>{l.quantity}</td>
                  <td>{money(l.unitPriceMinor, o.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <ErrorNotice error={error} />
          {(o.status === 'PENDING' || o.status === 'CONFIRMED') && (
            <button type="button" class="danger" onClick={cancel} disabled={cancelling}>
              Cancel this order
            </button>
          )}
        </article>
      )}
      <p>
        <a href="/orders">← All your orders</a>
      </p>
    </Page>
  )
}
