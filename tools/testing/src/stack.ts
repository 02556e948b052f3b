// Where the native infrastructure stack listens and what it runs: scripts/infra/ports.env and
// versions.env, overridden by the environment exactly as scripts/lib.sh does.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = new URL('../../../', import.meta.url)

function readEnvFile(name: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(new URL(`scripts/infra/${name}`, root), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line)) // NAME=value lines; comments and blanks are skipped
      .map((line) => line.split('=') as [string, string])
  )
}
const defaults = { ...readEnvFile('ports.env'), ...readEnvFile('versions.env') }

function setting(name: string): string {
  const value = process.env[name] || defaults[name]
  if (!value) throw new Error(`${name} has no default in scripts/infra/*.env`)
  return value
}
const port = (name: string) => Number(setting(name))

export const host = '127.0.0.1'
export const stack = {
  postgres: { host, port: port('PG_PORT') },
  redis: { host, port: port('REDIS_PORT') },
  kafka: { brokers: [`${host}:${port('KAFKA_PORT')}`] },
  consul: { url: `http://${host}:${port('CONSUL_PORT')}`, host, port: port('CONSUL_PORT') },
  nginx: { url: `http://${host}:${port('NGINX_PORT')}` },
  prometheus: { url: `http://${host}:${port('PROMETHEUS_PORT')}` }
}

/** The platform's own processes of `npm run up` (scripts/platform.sh). */
export const platform = {
  edge: stack.nginx.url,
  mail: `http://${host}:${port('SMTP_HTTP_PORT')}`,
  catalog: `http://${host}:${port('CATALOG_PORT')}`,
  gateways: [`http://${host}:${port('GATEWAY_PORT')}`, `http://${host}:${port('GATEWAY_2_PORT')}`],
  /** The development token issuer's private JWK (made by `npm run up`). */
  signingKeyFile: fileURLToPath(new URL('data/dev-signing-key.json', toolsDir())),
  script: fileURLToPath(new URL('scripts/platform.sh', root))
}

function toolsDir(): URL {
  const dir = process.env.PLATFORM_TOOLS_DIR
  return dir ? new URL(`file://${dir.replace(/\/?$/, '/')}`) : new URL('.tools/', root)
}

/** Programs the stack installed under .tools/, for tests that start a private server of their own. */
export const tools = {
  consul: fileURLToPath(new URL(`consul/${setting('CONSUL_VERSION')}/consul`, toolsDir())),
  actionlint: fileURLToPath(new URL(`actionlint/${setting('ACTIONLINT_VERSION')}/actionlint`, toolsDir())),
  /** Renovate's JSON schema (renovate-schema.json of its npm release), fetched by setup. */
  renovateSchema: fileURLToPath(
    new URL(`renovate/${setting('RENOVATE_VERSION')}/renovate-schema.json`, toolsDir())
  ),
  /** Built by `scripts/setup.sh faults`. */
  toxiproxy: fileURLToPath(new URL(`toxiproxy/${setting('TOXIPROXY_VERSION')}/server`, toolsDir()))
}

/** Ports of the fault suite's Toxiproxy: its API, and its proxy in front of the catalog. */
export const faults = {
  toxiproxyPort: port('TOXIPROXY_PORT'),
  catalogProxyPort: port('CATALOG_PROXY_PORT'),
  catalogPort: port('CATALOG_PORT')
}

/** The development credentials deploy/postgres/init.sql gives each service's role. */
export function databaseUrl(db: string, role: string = db): string {
  return `postgres://${role}:${role}@${host}:${stack.postgres.port}/${db}`
}

/** Polls `probe` every 100 ms until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(
  ms: number,
  what: string,
  probe: () => Promise<T | undefined>
): Promise<T> {
  const deadline = Date.now() + ms
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what}: not within ${ms} ms${lastError ? ` (last error: ${String(lastError)})` : ''}`)
}
