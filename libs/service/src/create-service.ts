import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type RawServerDefault } from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  createConsul,
  createResolver,
  discovery,
  type ConsulClient,
  type Resolver
} from '@platform/discovery'
import { httpKit, serverOptions, type HttpKitOptions } from '@platform/http-kit'
import { loggerOptions } from '@platform/logging'
import {
  deadLetterAdmin,
  messaging,
  messagingMigrationsDir,
  type EventRegistry,
  type SubscribeOptions
} from '@platform/messaging'
import { createMetrics, type Metrics } from '@platform/metrics'
import { postgres, type MigrationSet } from '@platform/postgres'
import { createUpstream, type Upstream, type UpstreamOptions } from '@platform/resilience'
import type { BaseConfig } from './config.ts'
import type { Manifest } from './manifest.ts'

export type ServiceApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface ServiceOptions {
  manifest: Manifest
  config: BaseConfig
  /** Consumers and the outbox relay (default on; off for tests that only exercise routes). */
  messaging?: boolean
  /** The event types it sends and receives (for the platform: `Events` of @platform/contracts). */
  events?: EventRegistry
  /** Proxies whose X-Forwarded-For is believed. */
  trustProxy?: string
  loadShedding?: HttpKitOptions['loadShedding']
}

/** A consumer of the topics the manifest lists under `consumes`, in the service's own group. */
export type Consumer = Omit<SubscribeOptions, 'groupId' | 'topics'>

export interface UpstreamSettings extends Partial<Pick<UpstreamOptions, 'maxConcurrent'>> {
  /** Where the service is when there is no Consul (`CATALOG_URL`). */
  url?: string | undefined
  timeoutMs: number
  /**
   * Whether readiness waits for Consul's first answer about it (default true). An upstream made
   * while serving (a traffic split's target) must not make a ready instance unready.
   */
  awaitDiscovery?: boolean
}

export interface Service {
  app: ServiceApp
  metrics: Metrics
  /** The migrations `npm run migrate` and MIGRATE_AT_START apply. */
  migrations: MigrationSet[]
  /** Starts `consumer` when the app is ready; nothing when messaging is off. */
  consume(consumer: Consumer): void
  /**
   * A client for a service named in the manifest's `calls` (the edge: any service): its healthy instances from Consul (the
   * last known ones while Consul is away), else the fixed `url`. The app is ready only once
   * Consul has answered about it.
   */
  upstream(name: string, settings: UpstreamSettings): Upstream
  /** The Consul client, when CONSUL_URL is set (KV reads and watches). */
  consul: ConsulClient | undefined
}

/** What a service's app options may turn off (tests that only exercise routes). */
export type ServiceAppOptions = Pick<ServiceOptions, 'messaging'>

/**
 * The migrations of a service: its own (`migrations/` in its folder, when there is one), then the
 * messaging tables when it produces or consumes.
 */
export function migrationSets(manifest: Manifest): MigrationSet[] {
  const own = join(manifest.dir, 'migrations')
  return [
    ...(existsSync(own) ? [{ dir: own }] : []),
    ...(manifest.produces.length > 0 || manifest.consumes.length > 0
      ? [{ dir: messagingMigrationsDir, table: 'messaging_migrations' }]
      : [])
  ]
}

/**
 * A service's Fastify app with what every service has, from its manifest and config: logger,
 * metrics, the HTTP kit (request ids, errors, health, load shedding, graceful shutdown), its
 * Postgres pool and migrations, Kafka (outbox relay and consumers) and Consul registration. The
 * service adds its own plugins, consumers and routes, then returns `app`. Never listens.
 */
export async function createService(options: ServiceOptions): Promise<Service> {
  const { manifest, config } = options
  const metrics = createMetrics({ service: manifest.name })
  const app = Fastify(
    serverOptions({
      logger: loggerOptions({
        service: manifest.name,
        version: manifest.version,
        level: config.LOG_LEVEL,
        pretty: config.LOG_PRETTY
      }),
      bodyLimit: config.BODY_LIMIT_BYTES,
      ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {})
    })
  ).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(httpKit, {
    metrics,
    drainDelayMs: config.SHUTDOWN_DRAIN_MS,
    ...(options.loadShedding ? { loadShedding: options.loadShedding } : {})
  })

  const migrations = migrationSets(manifest)
  if (manifest.database !== undefined) {
    if (!config.DATABASE_URL)
      throw new Error(`${manifest.name}: the manifest says database, the config has no DATABASE_URL`)
    await app.register(postgres, {
      connectionString: config.DATABASE_URL,
      name: manifest.name,
      max: config.DATABASE_POOL_MAX ?? 10,
      metrics,
      migrations: config.MIGRATE_AT_START === false ? [] : migrations
    })
  }

  const topicPrefix = config.KAFKA_TOPIC_PREFIX ?? ''
  const consumers: SubscribeOptions[] = []
  const messagingOn =
    options.messaging !== false && (manifest.produces.length > 0 || manifest.consumes.length > 0)
  if (messagingOn) {
    if (!options.events)
      throw new Error(`${manifest.name}: the manifest lists topics, give createService the events`)
    if (!config.KAFKA_BROKERS)
      throw new Error(`${manifest.name}: the manifest lists topics, the config has no KAFKA_BROKERS`)
    await app.register(messaging, {
      brokers: config.KAFKA_BROKERS.split(','),
      clientId: manifest.name,
      metrics,
      events: options.events,
      outbox: manifest.produces.length > 0,
      topicPrefix, // the bus puts it before every topic and group: nobody else needs to know it
      subscriptions: consumers // read when the app is ready: consume() adds to it before then
    })
    // Its dead letters, for the operations console (the gateway's admin routes reach them).
    if (manifest.consumes.length > 0)
      await app.register(deadLetterAdmin, {
        brokers: config.KAFKA_BROKERS.split(','),
        topics: manifest.consumes.map((t) => topicPrefix + t),
        group: topicPrefix + manifest.name
      })
  }

  const consul: ConsulClient | undefined = config.CONSUL_URL ? createConsul(config.CONSUL_URL) : undefined
  const resolvers = new Map<string, Resolver>()
  const unawaited: Resolver[] = []
  const upstreams: Upstream[] = []
  app.addHook('onReady', async () => {
    // Ready only once it knows where its upstreams are: an instance that listened before Consul's
    // first answer sent its first callers 503s.
    await Promise.all(
      [...resolvers.values()].map((r) =>
        r.ready(10_000).catch((err: Error) => app.log.warn({ err }, 'starting without an answer from Consul'))
      )
    )
  })
  app.lifecycle.onShutdown('closePools', async () => {
    for (const r of [...resolvers.values(), ...unawaited]) r.stop()
    await Promise.all(upstreams.map((u) => u.close()))
  })
  if (consul) {
    app.readiness.register('discovery', async () => {
      const waiting = [...resolvers].filter(([, r]) => !r.answered()).map(([name]) => name)
      if (waiting.length > 0) throw new Error(`no answer from Consul yet about ${waiting.join(', ')}`)
    })
    await app.register(discovery, {
      consul,
      name: manifest.name,
      address: config.ADVERTISE_ADDRESS ?? config.HOST,
      port: config.ADVERTISE_PORT
    })
  }

  return {
    app,
    metrics,
    migrations,
    consul,
    consume(consumer) {
      if (manifest.consumes.length === 0) throw new Error(`${manifest.name}: the manifest consumes no topic`)
      if (!messagingOn) return
      consumers.push({
        ...consumer,
        groupId: manifest.name,
        topics: manifest.consumes
      })
    },
    upstream(name, settings) {
      // The edge forwards to whichever service has public routes; others call what they declare.
      if (!manifest.calls.includes(name) && !manifest.edge)
        throw new Error(`${manifest.name}: "${name}" is not in the manifest's calls`)
      const resolver = consul
        ? createResolver({
            consul,
            service: name,
            onError: (err) =>
              app.log.warn({ err, service: name }, 'consul unreachable; using last known instances')
          })
        : undefined
      if (resolver && settings.awaitDiscovery !== false) resolvers.set(name, resolver)
      else if (resolver) unawaited.push(resolver)
      const fixed = settings.url ? [settings.url.replace(/\/$/, '')] : []
      const client = createUpstream({
        name,
        instances: () => (resolver && resolver.instances().length > 0 ? resolver.instances() : fixed),
        metrics,
        timeoutMs: settings.timeoutMs,
        ...(settings.maxConcurrent ? { maxConcurrent: settings.maxConcurrent } : {})
      })
      upstreams.push(client)
      return client
    }
  }
}
