import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { ConsulClient } from './consul.ts'

export interface ServiceRegistration {
  name: string
  /** The address other services reach this instance on. */
  address: string
  port: number
  tags?: string[]
  meta?: Record<string, string>
  /** Path of the HTTP check. Default /health/ready. */
  checkPath?: string
  checkIntervalSeconds?: number
  checkTimeoutSeconds?: number
  /** Consul's reaper removes an instance critical for this long (a crash without deregistration). */
  deregisterCriticalAfter?: string
  /** Status until the first check runs (Consul staggers it within the interval). Default critical:
   *  no traffic before the instance has proved ready once. */
  initialStatus?: 'passing' | 'critical'
  /** How often the agent is asked whether it still holds the registration; a registration it lost
   *  (Consul restarted without its data, or its reaper removed a long-critical instance) is made
   *  again. Default 10 s. */
  resyncIntervalMs?: number
  /** Called after a lost registration was made again. */
  onReregistered?: () => void
}

export interface Registration {
  id: string
  deregister(): Promise<void>
}

/**
 * Registers one instance under an id unique to it, with an HTTP check on its readiness, and keeps
 * it registered: Consul forgets it when restarted without its data or when its reaper removes an
 * instance critical for too long, and nothing else would ever register it again.
 */
export async function registerService(
  consul: ConsulClient,
  service: ServiceRegistration
): Promise<Registration> {
  const id = `${service.name}-${hostname()}-${service.port}-${randomBytes(3).toString('hex')}`
  const definition = {
    id,
    name: service.name,
    address: service.address,
    port: service.port,
    tags: service.tags ?? [],
    meta: service.meta ?? {},
    check: {
      name: `${service.name} ready`,
      http: `http://${service.address}:${service.port}${service.checkPath ?? '/health/ready'}`,
      interval: `${service.checkIntervalSeconds ?? 5}s`,
      timeout: `${service.checkTimeoutSeconds ?? 2}s`,
      deregistercriticalserviceafter: service.deregisterCriticalAfter ?? '1m',
      status: service.initialStatus ?? 'critical'
    }
  }
  await consul.agent.service.register(definition)
  // An instance of this service at the same address and port is one that crashed and never
  // deregistered (a port has one listener): this one now answers its checks, so it would stay
  // listed, passing, as a second instance. It goes.
  const held = (await consul.agent.service.list()) as Record<
    string,
    { Service: string; Address: string; Port: number }
  >
  for (const [other, s] of Object.entries(held))
    if (
      other !== id &&
      s.Service === service.name &&
      s.Address === service.address &&
      s.Port === service.port
    )
      await consul.agent.service.deregister(other)

  let stopped = false
  let inFlight = false
  const resync = async () => {
    if (stopped || inFlight) return
    inFlight = true
    try {
      const held = (await consul.agent.service.list()) as Record<string, unknown>
      if (stopped || id in held) return
      await consul.agent.service.register(definition)
      service.onReregistered?.()
    } catch {
      // Consul unreachable: the next round asks again.
    } finally {
      inFlight = false
    }
  }
  const timer = setInterval(() => void resync(), service.resyncIntervalMs ?? 10_000)
  timer.unref()

  return {
    id,
    deregister: async () => {
      stopped = true
      clearInterval(timer)
      await consul.agent.service.deregister(id)
    }
  }
}
