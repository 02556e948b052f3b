import { useEffect, useState } from 'preact/hooks'
import type { Notification, Page as PageOf } from '@platform/contracts'
import { get } from '../api.ts'
import { when } from '../format.ts'
import { useResource } from '../hooks.ts'
import { latest } from '../stream.ts'
import { ErrorNotice, Loading, Page } from '../components/ui.tsx'

export function Notifications() {
  const list = useResource((signal) => get<PageOf<Notification>>('/notifications?limit=50', signal), [])
  const [live, setLive] = useState<Notification[]>([])
  const news = latest.value
  useEffect(() => {
    if (news) setLive((items) => (items.some((n) => n.id === news.id) ? items : [news, ...items]))
  }, [news])
  const loaded = list.data?.items ?? []
  const items = [...live.filter((n) => !loaded.some((l) => l.id === n.id)), ...loaded]

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
