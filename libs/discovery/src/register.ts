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
}

export interface Registration {
  id: string
  deregister(): Promise<void>
}

/** Registers one instance under an id unique to it, with an HTTP check on its readiness. */
export async function registerService(
  consul: ConsulClient,
  service: ServiceRegistration
): Promise<Registration> {
  const id = `${service.name}-${hostname()}-${service.port}-${randomBytes(3).toString('hex')}`
  await consul.agent.service.register({
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
  })
  return { id, deregister: () => consul.agent.service.deregister(id).then(() => undefined) }
}
