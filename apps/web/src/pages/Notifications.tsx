import type { Notification, Page as PageOf } from '@platform/contracts'
import { get } from '../api.ts'
import { when } from '../format.ts'
import { useResource } from '../hooks.ts'
import { received } from '../stream.ts'
import { ErrorNotice, Loading, Page } from '../components/ui.tsx'

export function Notifications() {
  const list = useResource((signal) => get<PageOf<Notification>>('/notifications?limit=50', signal), [])
  const loaded = list.data?.items ?? []
  const known = new Set(loaded.map((n) => n.id))
  const live = received.value.filter((n) => !known.has(n.id)).reverse()
  const items = [...live, ...loaded]

  return (
    <Page title="Notifications">
      <ErrorNotice error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && items.length === 0 && <p>Nothing yet: you’ll hear from us when an order is decided.</p>}
      <ul class="feed" aria-live="polite">
        {items.map((n) => (
          <li key={n.id} data-testid="notification">
            <h2>{n.subject}</h2>
            <p>{n.text}</p>
            <p class="muted">
              {when(n.createdAt)} · <a href={`/orders/${n.orderId}`}>the order</a>
              {n.email && ` · email ${n.email.status}`}
            </p>
          </li>
        ))}
      </ul>
    </Page>
  )
}
