import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import '@platform/http-kit'
import '@platform/postgres'
import type { Metrics } from '@platform/metrics'
import type { MessageBus, SubscribeOptions } from './bus.ts'
import type { EventRegistry } from './envelope.ts'
import { createKafkaBus } from './kafka-bus.ts'
import { pruneInbox } from './inbox.ts'
import { createOutboxRelay } from './outbox.ts'

export interface MessagingPluginOptions {
  brokers: string[]
  clientId: string
  metrics: Metrics
  /** The event types its consumers accept (for the platform: `Events` of @platform/contracts). */
  events: EventRegistry
  /** Put before every topic and consumer group (KAFKA_TOPIC_PREFIX): set here, nowhere else. */
  topicPrefix?: string
  /** Consumers started once the app is ready. */
  subscriptions: SubscribeOptions[]
  /** Relay the outbox (default true); a service that never publishes events turns it off. */
  outbox?: boolean
  /** Inbox ids are kept this many days (default 14: twice Kafka's default retention), then removed. */
  inboxRetentionDays?: number
  /** How often expired inbox ids are removed. Default every hour. */
  inboxRetentionEveryMs?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    bus: MessageBus
  }
}

async function plugin(app: FastifyInstance, options: MessagingPluginOptions): Promise<void> {
  const bus = createKafkaBus({
    brokers: options.brokers,
    clientId: options.clientId,
    metrics: options.metrics,
    events: options.events,
    ...(options.topicPrefix ? { topicPrefix: options.topicPrefix } : {}),
    log: (level, message, extra) => app.log[level]({ kafka: extra }, message)
  })
  const relay =
    options.outbox === false
      ? undefined
      : createOutboxRelay({
          pool: app.pg,
          bus,
          metrics: options.metrics,
          onError: (err) => app.log.error({ err }, 'outbox relay failed')
        })
  const running: Array<() => Promise<void>> = []
  let retention: NodeJS.Timeout | undefined
  app.decorate('bus', bus)
  app.addHook('onReady', async () => {
    await relay?.start()
    for (const subscription of options.subscriptions) {
      const { stop } = await bus.subscribe(subscription)
      running.push(stop)
    }
    if (options.subscriptions.length > 0) {
      retention = setInterval(() => {
        pruneInbox(app.pg, options.inboxRetentionDays ?? 14)
          .then((removed) => removed > 0 && app.log.info({ removed }, 'expired inbox ids removed'))
          .catch((err) => app.log.warn({ err }, 'inbox retention failed'))
      }, options.inboxRetentionEveryMs ?? 3_600_000)
      retention.unref()
    }
  })
  app.lifecycle.onShutdown('stopConsumers', async () => {
    clearInterval(retention)
    await Promise.all(running.map((stop) => stop()))
  })
  app.lifecycle.onShutdown('flush', async () => {
    await relay?.stop() // publishes nothing more; what is committed stays in the outbox for the next start
    await bus.close()
  })
}

/**
 * A service's messaging, tied to its life (after `@platform/http-kit` and `@platform/postgres`):
 * the outbox relay and the consumers start when the app is ready; at shutdown consumers stop
 * first (committing finished offsets), then the relay and the producer.
 */
export const messaging = fp(plugin, {
  name: '@platform/messaging',
  dependencies: ['@platform/http-kit', '@platform/postgres']
})
