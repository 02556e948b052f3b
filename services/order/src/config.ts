import Type, { type Static } from 'typebox'
import { ConfigError, readConfig as read } from '@platform/config'

export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3002 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)),
    { default: 'info' }
  ),
  LOG_PRETTY: Type.Boolean({ default: false }),
  DATABASE_URL: Type.String({ minLength: 1 }),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  MIGRATE_AT_START: Type.Boolean({ default: true }),
  KAFKA_BROKERS: Type.String({ minLength: 1, description: 'comma-separated host:port' }),
  /** Namespaces every topic and the consumer group (e.g. per environment or per test run). */
  KAFKA_TOPIC_PREFIX: Type.String({ default: '', pattern: '^[a-zA-Z0-9._-]*$' }),
  /** Where the catalog is: resolved through Consul when CONSUL_URL is set, else this fixed URL. */
  CATALOG_URL: Type.Optional(Type.String({ minLength: 1 })),
  CATALOG_TIMEOUT_MS: Type.Integer({ minimum: 50, default: 1000 }),
  CONSUL_URL: Type.Optional(Type.String({ minLength: 1 })),
  ADVERTISE_ADDRESS: Type.Optional(Type.String({ minLength: 1 })),
  /** The port registered in Consul when callers reach this instance through another (a proxy, a NAT). */
  ADVERTISE_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  /** A PENDING order with no answer from the catalog this long is rejected as expired. */
  ORDER_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 300000 }),
  RETENTION_SWEEP_MS: Type.Integer({ minimum: 1000, default: 600000 }),
  EXPIRY_SWEEP_MS: Type.Integer({ minimum: 50, default: 5000 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 65536 }),
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, default: 0 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 1000, default: 15000 })
})
export type Config = Static<typeof ConfigSchema>

export function readConfig(env: Record<string, string | undefined>): Config {
  const config = read(ConfigSchema, env)
  if (!config.CATALOG_URL && !config.CONSUL_URL) {
    throw new ConfigError([
      {
        variable: 'CATALOG_URL',
        problem: 'missing (set it, or CONSUL_URL to find the catalog through Consul)'
      }
    ])
  }
  return config
}
