import type { ComponentChildren } from 'preact'
import type { Order } from '@platform/contracts'
import { explain } from '../api.ts'

/** An error as a person understands it; announced to screen readers. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null
  return (
    <div class="notice error" role="alert">
      <p>{explain(error)}</p>
      {onRetry && (
        <button type="button" class="secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  )
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="muted" role="status">
      {label}
    </p>
  )
}

export function StatusBadge({ status }: { status: Order['status'] }) {
  return (
    <span class={`badge status-${status.toLowerCase()}`} data-testid="order-status">
      {status}
    </span>
  )
}

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  if (typeof document !== 'undefined') document.title = `${title} · Platform shop`
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">{title}</h1>
      {children}
    </section>
  )
}
