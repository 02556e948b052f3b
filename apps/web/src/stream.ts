// The signed-in user's notifications, live: the API's Server-Sent Events read with fetch (an
// EventSource can't send the bearer token), reconnecting with Last-Event-ID so nothing is missed.
import { signal } from '@preact/signals'
import { createParser } from 'eventsource-parser'
import type { Notification } from '@platform/contracts'
import { API } from './api.ts'

/**
 * The notifications received on the stream since sign-in, oldest first (the newest 200): pages
 * watch it to show them and refresh what they concern. A list, not just the latest: a burst in
 * one chunk sets it several times before anything renders.
 */
export const received = signal<Notification[]>([])
export const connected = signal(false)

/** Holds the stream open while `token` is valid; returns the function that closes it. */
export function openStream(token: string): () => void {
  const abort = new AbortController()
  let lastEventId: string | undefined
  let retryMs = 2000

  const parser = createParser({
    onEvent(event) {
      if (event.id) lastEventId = event.id
      if (event.event !== 'notification') return
      try {
        received.value = [...received.value.slice(-199), JSON.parse(event.data) as Notification]
      } catch {
        // A malformed event is skipped; the next one still arrives.
      }
    },
    onRetry(ms) {
      retryMs = ms
    }
  })

  async function run(): Promise<void> {
    for (let attempt = 0; !abort.signal.aborted; attempt++) {
      try {
        const headers: Record<string, string> = {
          accept: 'text/event-stream',
          authorization: `Bearer ${token}`
        }
        if (lastEventId) headers['last-event-id'] = lastEventId
        const res = await fetch(`${API}/notifications/stream`, { headers, signal: abort.signal })
        if (res.status === 401 || res.status === 403) return
        if (res.ok && res.body) {
          attempt = 0
          connected.value = true
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
          for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            parser.feed(value)
          }
        }
      } catch {
        // Dropped or refused: retried below.
      }
      connected.value = false
      parser.reset()
      if (abort.signal.aborted) return
      const wait = Math.min(30_000, retryMs * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random() / 2)
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
  void run()
  return () => {
    abort.abort()
    connected.value = false
    received.value = []
  }
}
