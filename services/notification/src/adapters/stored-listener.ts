import type { Pool, PoolClient } from '@platform/postgres'
import { STORED_CHANNEL } from './notifications-repository.ts'

export interface StoredListener {
  /** Calls `onStored` whenever a notification of `customerId` commits, on any instance. */
  subscribe(customerId: string, onStored: () => void): () => void
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * One LISTEN connection per instance fans commits out to the streams open here. If the connection
 * drops it is re-established (streams also re-read at every heartbeat, so nothing is lost meanwhile).
 */
export function createStoredListener(options: {
  pool: Pool
  reconnectMs?: number
  onError: (err: unknown) => void
}): StoredListener {
  const subscribers = new Map<string, Set<() => void>>()
  let client: PoolClient | undefined
  let stopped = false
  let retry: NodeJS.Timeout | undefined

  const dispatch = (payload: string | undefined) => {
    try {
      const { customerId } = JSON.parse(payload ?? '{}') as { customerId?: string }
      if (customerId) for (const fn of subscribers.get(customerId) ?? []) fn()
    } catch (err) {
      options.onError(err)
    }
  }

  async function connect(): Promise<void> {
    const c = await options.pool.connect()
    c.on('notification', (n) => dispatch(n.payload))
    c.on('error', (err) => {
      options.onError(err)
      c.release(err) // the pool discards a broken client
      if (client === c) client = undefined
      if (!stopped) retry = setTimeout(reconnect, options.reconnectMs ?? 1000)
    })
    await c.query(`LISTEN ${STORED_CHANNEL}`)
    client = c
  }
  const reconnect = () => {
    connect().catch((err) => {
      options.onError(err)
      if (!stopped) retry = setTimeout(reconnect, options.reconnectMs ?? 1000)
    })
  }

  return {
    subscribe(customerId, onStored) {
      const set = subscribers.get(customerId) ?? new Set()
      set.add(onStored)
      subscribers.set(customerId, set)
      return () => {
        set.delete(onStored)
        if (set.size === 0) subscribers.delete(customerId)
      }
    },
    start: connect,
    async stop() {
      stopped = true
      clearTimeout(retry)
      const c = client
      client = undefined
      if (c) {
        await c.query(`UNLISTEN ${STORED_CHANNEL}`).catch(() => {})
        c.release()
      }
    }
  }
}
