import { useState } from 'preact/hooks'
import type { DeadLetterList, DeadLetterView, Overview } from '@platform/contracts'
import { call, get } from '../api.ts'
import { when } from '../format.ts'
import { useResource } from '../hooks.ts'
import { ErrorNotice, Loading } from '../components/ui.tsx'

/** Letters shown per service, newest first (a poison flood leaves thousands). */
const SHOWN = 20

const letterPath = (l: DeadLetterView) =>
  `${encodeURIComponent(l.dlq)}/${l.partition}/${encodeURIComponent(l.offset)}`

/** One consuming service's dead letters: inspect one, put it back on its topic. */
function ServiceLetters({ service, search }: { service: string; search: string }) {
  const list = useResource(
    (signal) =>
      get<DeadLetterList>(
        `/admin/services/${service}/dead-letters?limit=${SHOWN}${search ? `&key=${encodeURIComponent(search)}` : ''}`,
        signal
      ),
    [service, search]
  )
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState<string | null>(null)

  async function replay(letter: DeadLetterView) {
    const key = `${letter.dlq}/${letter.partition}/${letter.offset}`
    setBusy(key)
    setError(null)
    try {
      await call(`/admin/services/${service}/dead-letters/${letterPath(letter)}/replay`, { method: 'POST' })
      setDone(`Put ${key} back on ${letter.originTopic}.`)
      list.reload()
    } catch (err) {
      setError(err)
    } finally {
      setBusy(null)
    }
  }

  const items = list.data?.items ?? []
  return (
    <section aria-labelledby={`dlq-${service}`}>
      <h2 id={`dlq-${service}`}>{service}</h2>
      <ErrorNotice error={list.error ?? error} onRetry={list.reload} />
      <p role="status" class="muted">
        {done ?? ''}
      </p>
      {list.loading && !list.data && <Loading label="Reading its dead-letter topics…" />}
      {list.data && (
        <p>
          {list.data.total === 0
            ? search
              ? 'No dead letter has that key or event id.'
              : 'No dead letters.'
            : `${list.data.total} letter(s), ${list.data.pending} not replayed; the newest ${Math.min(SHOWN, list.data.total)} below.`}
        </p>
      )}
      <ul class="feed">
        {items.map((l) => {
          const key = `${l.dlq}/${l.partition}/${l.offset}`
          return (
            <li key={key} data-testid="dead-letter" data-letter={key}>
              <details>
                <summary>
                  <code>{key}</code> {l.type ?? 'not an event'} — {l.reason}: {l.error}{' '}
                  {l.replayed ? (
                    <span class="badge up">replayed</span>
                  ) : (
                    <span class="badge warn">pending</span>
                  )}
                </summary>
                <dl class="facts">
                  <dt>From</dt>
                  <dd>
                    {l.originTopic}
                    {l.group ? `, given up by ${l.group}` : ''} after {l.attempts} attempt(s)
                  </dd>
                  <dt>When</dt>
                  <dd>{l.failedAt ? when(l.failedAt) : 'unknown'}</dd>
                  <dt>Key</dt>
                  <dd>
                    <code>{l.key || '(none)'}</code>
                  </dd>
                  <dt>Message</dt>
                  <dd>
                    <pre>{l.value}</pre>
                  </dd>
                </dl>
              </details>
              <button type="button" class="secondary" disabled={busy !== null} onClick={() => replay(l)}>
                {l.replayed ? 'Replay again' : 'Replay'}
                <span class="visually-hidden"> {key}</span>
              </button>
            </li>
          )
        })}
      </ul>
    </section>
  )
}

export function DeadLetters() {
  const [search, setSearch] = useState('')
  const overview = useResource((signal) => get<Overview>('/admin/overview', signal), [])
  const consumers = [
    ...new Set(overview.data?.links.filter((l) => l.kind === 'event').map((l) => l.to) ?? [])
  ].sort()
  return (
    <>
      <p class="muted">
        What a consumer could not apply. Replaying puts the message back on its topic; consumers apply each
        event once, so replaying twice changes nothing.
      </p>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          setSearch(String(new FormData(e.currentTarget as HTMLFormElement).get('key') ?? '').trim())
        }}
      >
        <label for="dlq-key">Key or event id</label>
        <input id="dlq-key" name="key" type="search" maxLength={200} />
        <button type="submit">Find</button>
      </form>
      <ErrorNotice error={overview.error} onRetry={overview.reload} />
      {overview.loading && !overview.data && <Loading />}
      {consumers.map((s) => (
        <ServiceLetters key={s} service={s} search={search} />
      ))}
    </>
  )
}
