import { fileURLToPath } from 'node:url'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import { createConsul, discovery } from '@platform/discovery'
import { httpKit, serverOptions } from '@platform/http-kit'
import { loggerOptions } from '@platform/logging'
import { messaging, messagingMigrationsDir } from '@platform/messaging'
import { createMetrics } from '@platform/metrics'
import { postgres } from '@platform/postgres'
import type { Config } from './config.ts'
import { createStoredListener } from './adapters/stored-listener.ts'
import { CONSUMER, orderEventsHandler } from './consumers/order-events.ts'
import { loadTemplates } from './domain/render.ts'
import { recipientFrom } from './domain/recipient.ts'
import { smtpTransport } from './email/transport.ts'
import { createEmailSender } from './email/sender.ts'
import { notificationRoutes } from './routes/notifications.ts'

export const SERVICE = 'notification'
export const VERSION = '0.1.0'
export const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url))
export const templatesDir = new URL('../templates/', import.meta.url)
/** What `npm run migrate` and MIGRATE_AT_START apply: the service's own tables, then the inbox. */
export const migrationSets = [
  { dir: migrationsDir },
  { dir: messagingMigrationsDir, table: 'messaging_migrations' }
]

export interface AppOptions {
  /** Consume order events and send emails (off for route-only tests). */
  messaging?: boolean
}

/** The notification service's whole wiring. Never listens: server.ts does. */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const metrics = createMetrics({ service: SERVICE })
  const app = Fastify(
    serverOptions({
      logger: loggerOptions({
        service: SERVICE,
        version: VERSION,
        level: config.LOG_LEVEL,
        pretty: config.LOG_PRETTY
      }),
      bodyLimit: config.BODY_LIMIT_BYTES
    })
  ).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(httpKit, { metrics, drainDelayMs: config.SHUTDOWN_DRAIN_MS })
  await app.register(postgres, {
    connectionString: config.DATABASE_URL,
    name: SERVICE,
    max: config.DATABASE_POOL_MAX,
    metrics,
    migrations: config.MIGRATE_AT_START ? migrationSets : []
  })
  const render = loadTemplates(templatesDir) // a broken template fails here, at start

  // Commits of any instance reach the streams open on this one.
  const listener = createStoredListener({
    pool: app.pg,
    onError: (err) => app.log.warn({ err }, 'notification LISTEN connection failed; reconnecting')
  })
  app.addHook('onReady', () => listener.start())
  app.lifecycle.onShutdown('closePools', () => listener.stop())

  if (options.messaging !== false) {
    const transport = smtpTransport(config.SMTP_URL, config.SMTP_TIMEOUT_MS)
    const sender = createEmailSender({
      pool: app.pg,
      transport,
      from: config.EMAIL_FROM,
      metrics,
      maxAttempts: config.EMAIL_MAX_ATTEMPTS,
      retryBaseMs: config.EMAIL_RETRY_BASE_MS,
      retryMaxMs: config.EMAIL_RETRY_MAX_MS,
      pollMs: config.EMAIL_POLL_MS,
      onError: (err) => app.log.error({ err }, 'email sender failed; retrying at the next poll'),
      log: (message, extra) => app.log.warn({ email: extra }, message)
    })
    const prefix = config.KAFKA_TOPIC_PREFIX
    await app.register(messaging, {
      brokers: config.KAFKA_BROKERS.split(','),
      clientId: SERVICE,
      metrics,
      outbox: false, // publishes nothing
      subscriptions: [
        {
          groupId: `${prefix}${CONSUMER}`,
          topics: [`${prefix}order.events`],
          partitionsConcurrently: 3,
          handle: orderEventsHandler({
            pool: app.pg,
            render,
            recipientOf: recipientFrom(config.EMAIL_TO_TEMPLATE),
            onStored: () => sender.wake()
          })
        }
      ]
    })
    app.addHook('onReady', async () => sender.start())
    app.lifecycle.onShutdown('flush', () => sender.stop()) // the email in hand finishes
    app.lifecycle.onShutdown('closePools', () => transport.close())
  }

  if (config.CONSUL_URL) {
    await app.register(discovery, {
      consul: createConsul(config.CONSUL_URL),
      name: SERVICE,
      address: config.ADVERTISE_ADDRESS ?? config.HOST,
      port: config.ADVERTISE_PORT
    })
  }

  await app.register(notificationRoutes, {
    listener,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    reconnectMs: config.SSE_RETRY_MS
  })
  return app
}
