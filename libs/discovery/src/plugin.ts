import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import '@platform/http-kit'
import type { ConsulClient } from './consul.ts'
import { registerService, type Registration, type ServiceRegistration } from './register.ts'

export interface DiscoveryPluginOptions extends Omit<ServiceRegistration, 'port'> {
  consul: ConsulClient
  /** Defaults to the port the app listens on. */
  port?: number
}

declare module 'fastify' {
  interface FastifyInstance {
    registration: Registration | undefined
  }
}

/** Instances with this tag serve /metrics (the HTTP kit's); Prometheus discovers them by it. */
export const METRICS_TAG = 'metrics'

async function plugin(app: FastifyInstance, options: DiscoveryPluginOptions): Promise<void> {
  app.decorate('registration', undefined)
  // Registered once listening (the port is known then), deregistered first thing at shutdown.
  app.addHook('onListen', async () => {
    const port = options.port ?? (app.server.address() as { port: number }).port
    // Tagged `metrics`: Prometheus scrapes every instance so tagged (deploy/prometheus).
    const tags = [...new Set([...(options.tags ?? []), METRICS_TAG])]
    // onListen runs after every onReady hook (migrations, consumers joined): the instance is ready
    // now, so it is registered passing rather than invisible until Consul's first check.
    app.registration = await registerService(options.consul, {
      initialStatus: 'passing',
      onReregistered: () =>
        app.log.warn(
          { id: app.registration?.id },
          'registered in consul again: it had lost the registration'
        ),
      ...options,
      port,
      tags
    })
    app.log.info({ id: app.registration.id }, 'registered in consul')
  })
  app.lifecycle.onShutdown('deregister', async () => {
    if (!app.registration) return
    await app.registration.deregister()
    app.log.info({ id: app.registration.id }, 'deregistered from consul')
  })
}

/** Registers the instance in Consul when it listens; deregisters it when shutdown begins. */
export const discovery = fp(plugin, { name: '@platform/discovery', dependencies: ['@platform/http-kit'] })
