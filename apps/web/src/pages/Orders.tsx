import { useEffect, useState } from 'preact/hooks'
import type { Order, Page as PageOf } from '@platform/contracts'
import { get } from '../api.ts'
import { money, when } from '../format.ts'
import { useResource } from '../hooks.ts'
import { received } from '../stream.ts'
import { ErrorNotice, Loading, Page, StatusBadge } from '../components/ui.tsx'

export function Orders() {
  const [cursors, setCursors] = useState<string[]>([''])
  const cursor = cursors.at(-1) ?? ''
  const orders = useResource(
    (signal) =>
      get<PageOf<Order>>(`/orders?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, signal),
    [cursor]
  )
  // An order decided while this page is open shows its new status.
  const news = received.value.length
  useEffect(() => {
    if (news > 0) orders.reload()
  }, [news])

  return (
    <Page title="Your orders">
      <ErrorNotice error={orders.error} onRetry={orders.reload} />
      {orders.loading && !orders.data && <Loading label="Loading your orders…" />}
      {orders.data?.items.length === 0 && (
        <p>
          No orders yet. <a href="/">Browse the shop</a>
        </p>
      )}
      {orders.data && orders.data.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Your orders, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Placed</th>
              <th scope="col">Order</th>
              <th scope="col">Total</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {orders.data.items.map((o) => (
              <tr key={o.id} data-testid="order-row">
                <td>{when(o.createdAt)}</td>
                <td>
                  <a href={`/orders/${o.id}`}>{o.id.slice(0, 8)}</a>
                </td>
                <td>{money(o.totalMinor, o.currency)}</td>
                <td>
                  <StatusBadge status={o.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          class="secondary"
          disabled={cursors.length < 2}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!orders.data?.nextCursor}
          onClick={() => setCursors([...cursors, orders.data?.nextCursor ?? ''])}
        >
          Older
        </button>
      </nav>
    </Page>
  )
}
