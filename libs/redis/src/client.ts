import { Redis } from 'ioredis'

export interface RedisOptions {
  url: string
  /** Label in logs and metrics. */
  name?: string
  connectTimeoutMs?: number
  /** A command without an answer in this time fails instead of waiting. Default 500 ms. */
  commandTimeoutMs?: number
  /** ioredis emits connection errors as events; an unhandled one would crash the process. */
  onError?: (err: Error) => void
}

/**
 * An ioredis client that fails fast while Redis is away (no offline queue, one attempt per
 * command, a command timeout) and keeps reconnecting in the background, so callers can treat
 * Redis as optional.
 */
export function createRedis(options: RedisOptions): Redis {
  const client = new Redis(options.url, {
    connectionName: options.name,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    commandTimeout: options.commandTimeoutMs ?? 500,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000)
  })
  client.on('error', options.onError ?? (() => {}))
  return client
}

/** Resolves true once the client is connected, or false after `ms` (Redis may be optional). */
export async function whenConnected(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return true
  return new Promise((resolve) => {
    const done = (connected: boolean) => {
      clearTimeout(timer)
      client.off('ready', onReady)
      resolve(connected)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), ms)
    client.on('ready', onReady)
  })
}

export async function checkRedis(client: Redis): Promise<void> {
  const answer = await client.ping()
  if (answer !== 'PONG') throw new Error(`unexpected PING answer ${answer}`)
}
