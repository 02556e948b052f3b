import type { FastifyInstance } from 'fastify'
import { Events } from '@platform/contracts'
import { createService, type ServiceAppOptions } from '@platform/service'
import { manifest, type Config } from './config.ts'
import { createStoredListener } from './adapters/stored-listener.ts'
import { orderEventsHandler } from './consumers/order-events.ts'
import { loadTemplates } from './domain/render.ts'
import { recipientFrom } from './domain/recipient.ts'
import { smtpTransport } from './email/transport.ts'
import { createEmailSender } from './email/sender.ts'
import { notificationRoutes } from './routes/notifications.ts'

export const templatesDir = new URL('../templates/', import.meta.url)

/** The notification service's own wiring on the service base. Never listens: server.ts does. */
export async function buildApp(config: Config, options: ServiceAppOptions = {}): Promise<FastifyInstance> {
  const service = await createService({
    manifest,
    config,
    events: Events,
    ...options
  })
  const { app, metrics } = service
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
    service.consume({
      partitionsConcurrently: 3,
      handle: orderEventsHandler({
        pool: app.pg,
        render,
        recipientOf: recipientFrom(config.EMAIL_TO_TEMPLATE),
        onStored: () => sender.wake()
      })
    })
    app.addHook('onReady', async () => sender.start())
    app.lifecycle.onShutdown('flush', () => sender.stop()) // the email in hand finishes
    app.lifecycle.onShutdown('closePools', () => transport.close())
  }

  await app.register(notificationRoutes, {
    listener,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    reconnectMs: config.SSE_RETRY_MS
  })
  return app
}
