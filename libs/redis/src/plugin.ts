import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import '@platform/http-kit'
import { checkRedis, createRedis, whenConnected, type RedisOptions } from './client.ts'

export interface RedisPluginOptions extends RedisOptions {
  /** A hard dependency fails /health/ready while Redis is away; a cache should not. Default true. */
  required?: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
  }
}

async function plugin(app: FastifyInstance, options: RedisPluginOptions): Promise<void> {
  const name = options.name ?? 'redis'
  let lastLogged = 0
  const client = createRedis({
    ...options,
    onError: (err) => {
      // Reconnect attempts fail every ~2 s while Redis is down: log one line a minute, not each.
      if (Date.now() - lastLogged > 60_000) {
        lastLogged = Date.now()
        app.log.warn({ err, redis: name }, 'redis unavailable')
      }
    }
  })
  app.decorate('redis', client)
  // Commands fail fast while disconnected, so give the first connection a moment before serving.
  if (!(await whenConnected(client, options.connectTimeoutMs ?? 1000))) {
    app.log.warn({ redis: name }, 'redis not reachable at start; continuing without it')
  }
  if (options.required !== false) app.readiness.register(name, () => checkRedis(client))
  app.lifecycle.onShutdown('closePools', async () => {
    await client.quit().catch(() => client.disconnect())
  })
}

/** Registers after the http-kit: decorates `app.redis`, optionally gates readiness, quits on shutdown. */
export const redis = fp(plugin, { name: '@platform/redis', dependencies: ['@platform/http-kit'] })
