// Network faults between the catalog and its callers, with Toxiproxy (scripts/infra/toxiproxy):
// the catalog is rolled to register in Consul at the proxy's port, so the gateways, the order
// service, Consul's health check and Prometheus all reach it through the proxy; a toxic then slows
// or cuts that link while the catalog itself runs on.
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { eventually, faults, host, tools } from '@platform/testing'
import type { Fault } from './injected.ts'

const api = `http://${host}:${faults.toxiproxyPort}`
const logFile = fileURLToPath(new URL('../../.tools/logs/toxiproxy.log', import.meta.url))

async function call(method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${await res.text()}`)
}

export interface CatalogProxy {
  /** Starts Toxiproxy and rolls the catalog behind it (before the scenario's traffic). */
  start(): Promise<void>
  /** Rolls the catalog back to its own port and stops Toxiproxy. */
  stop(): Promise<void>
  /** A fault that holds `toxics` on the link for as long as it lasts. */
  fault(toxics: Array<Record<string, unknown>>): Fault
}

export function catalogProxy(roll: (env: Record<string, string>) => Promise<void>): CatalogProxy {
  let server: ChildProcess | undefined
  return {
    async start() {
      server = spawn(tools.toxiproxy, ['-host', host, '-port', String(faults.toxiproxyPort)], {
        stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')]
      })
      await eventually(10_000, 'toxiproxy answering', () =>
        fetch(`${api}/version`).then(
          (res) => (res.ok ? true : undefined),
          () => undefined
        )
      )
      await call('POST', '/proxies', {
        name: 'catalog',
        listen: `${host}:${faults.catalogProxyPort}`,
        upstream: `${host}:${faults.catalogPort}`,
        enabled: true
      })
      await roll({ CATALOG_ADVERTISE_PORT: String(faults.catalogProxyPort) })
    },
    async stop() {
      await roll({})
      server?.kill()
      if (server && server.exitCode === null) await new Promise((resolve) => server!.once('exit', resolve))
    },
    fault(toxics) {
      return {
        async inject() {
          for (const toxic of toxics) await call('POST', '/proxies/catalog/toxics', { toxicity: 1, ...toxic })
        },
        async heal() {
          for (const toxic of toxics) await call('DELETE', `/proxies/catalog/toxics/${String(toxic.name)}`)
        }
      }
    }
  }
}
