import Type, { type Static } from 'typebox'
import { ConfigError, readConfig as read, type ConfigIssue } from '@platform/config'
import { baseConfig, loadManifest, redisConfig } from '@platform/service'
import { ASYMMETRIC_ALGORITHMS } from './auth/jwt.ts'
import { SERVICE_ROUTES } from './routes/services.generated.ts'

/** services/gateway/service.json: what the platform knows about the gateway. */
export const manifest = loadManifest(new URL('../', import.meta.url))

/** The variable naming a service's fixed URL: CATALOG_URL, BILLING_URL. */
function urlVariable(service: string): string {
  return `${service.toUpperCase().replaceAll('-', '_')}_URL`
}

/** A service's fixed URL from the config, when there is one. */
export function urlOf(config: Config, service: string): string | undefined {
  return (config as Record<string, unknown>)[urlVariable(service)] as string | undefined
}

export const ConfigSchema = Type.Object({
  ...baseConfig(manifest),
  /** Rate-limit counters shared by every gateway instance. */
  ...redisConfig,
  /** Where the traffic splits are in Consul's KV store (one key per upstream below it). */
  SPLITS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9._/-]+/$', default: 'platform/splits/' }),
  /** Without CONSUL_URL, the services are at fixed URLs (each one then required). */
  CATALOG_URL: Type.Optional(Type.String({ minLength: 1 })),
  ORDER_URL: Type.Optional(Type.String({ minLength: 1 })),
  NOTIFICATION_URL: Type.Optional(Type.String({ minLength: 1 })),
  /** The same for each service whose routes come from its manifest (BILLING_URL for billing). */
  ...Object.fromEntries(
    SERVICE_ROUTES.map((r) => [urlVariable(r.service), Type.Optional(Type.String({ minLength: 1 }))])
  ),
  /** Per attempt; order placement itself calls the catalog, so leave it room. */
  UPSTREAM_TIMEOUT_MS: Type.Integer({ minimum: 50, default: 5000 }),
  /**
   * Requests this instance handles at once (streams aside); more are refused at once with 503
   * OVERLOADED before authentication, so admitted requests keep their latency under overload.
   */
  MAX_IN_FLIGHT: Type.Integer({ minimum: 1, default: 64 }),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'https://auth.platform.local' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'platform-api' }),
  /** A JWK Set (JSON) of verification keys; JWT_JWKS_FILE reads it from a file. */
  JWT_JWKS: Type.Optional(Type.String({ minLength: 2 })),
  /** An identity provider's JWKS endpoint. */
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  JWT_ALGORITHMS: Type.String({ default: 'ES256,RS256,EdDSA' }),
  JWT_CLOCK_SKEW_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
  /**
   * The development token issuer (`POST /api/v1/auth/token` for the demo users) is on only when a
   * private JWK is set here (DEV_TOKENS_PRIVATE_JWK_FILE reads it from a file). Never in production.
   */
  DEV_TOKENS_PRIVATE_JWK: Type.Optional(Type.String({ minLength: 2 })),
  DEV_TOKENS_PASSWORD: Type.String({ minLength: 4, default: 'demo' }),
  DEV_TOKENS_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 86400, default: 3600 }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600 }),
  /** Notification streams one caller may hold open through one gateway. */
  STREAMS_PER_USER: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1000, default: 60000 }),
  /** Key prefix of the counters in Redis: gateways sharing it share the counts. */
  RATE_LIMIT_NAMESPACE: Type.String({ minLength: 1, maxLength: 100, default: 'ratelimit:' }),
  /**
   * Prometheus, for the operations console's figures and alerts (GET /api/v1/admin/overview).
   * Without it the console shows instances from Consul and says the figures are unavailable.
   */
  PROMETHEUS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Browser origins allowed to call the API (comma-separated); none by default. */
  CORS_ORIGINS: Type.String({ default: '' }),
  /** Proxies whose X-Forwarded-For is believed (the NGINX edge): addresses, CIDRs or `loopback`. */
  TRUST_PROXY: Type.String({ default: 'loopback' })
})
export type Config = Static<typeof ConfigSchema>

export function readConfig(env: Record<string, string | undefined>): Config {
  const config = read(ConfigSchema, env)
  const issues: ConfigIssue[] = []
  if (!config.CONSUL_URL) {
    const names = [
      'CATALOG_URL',
      'ORDER_URL',
      'NOTIFICATION_URL',
      ...SERVICE_ROUTES.map((r) => urlVariable(r.service))
    ]
    for (const name of new Set(names))
      if (!(config as Record<string, unknown>)[name])
        issues.push({
          variable: name,
          problem: 'missing (set it, or CONSUL_URL to find services through Consul)'
        })
  }
  if (!config.JWT_JWKS && !config.JWT_JWKS_URL && !config.DEV_TOKENS_PRIVATE_JWK)
    issues.push({
      variable: 'JWT_JWKS',
      problem: 'missing: tokens need verification keys (JWT_JWKS, JWT_JWKS_URL or DEV_TOKENS_PRIVATE_JWK)'
    })
  for (const name of ['JWT_JWKS', 'DEV_TOKENS_PRIVATE_JWK'] as const) {
    const value = config[name]
    if (value === undefined) continue
    try {
      JSON.parse(value)
    } catch {
      issues.push({ variable: name, problem: 'not valid JSON' })
    }
  }
  const bad = algorithms(config).filter((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a))
  if (bad.length > 0)
    issues.push({
      variable: 'JWT_ALGORITHMS',
      problem: `${bad.join(', ')} not allowed (asymmetric algorithms only: ${ASYMMETRIC_ALGORITHMS.join(', ')})`
    })
  if (issues.length > 0) throw new ConfigError(issues)
  return config
}

export const algorithms = (config: Config) =>
  config.JWT_ALGORITHMS.split(',')
    .map((a) => a.trim())
    .filter(Boolean)
