import Type from 'typebox'
import type { Manifest } from './manifest.ts'

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)),
  { default: 'info' }
)

/** What every service reads: where it listens, its logs, Consul, limits and shutdown. */
export function baseConfig(manifest: Pick<Manifest, 'port'>) {
  return {
    HOST: Type.String({ default: '127.0.0.1' }),
    PORT: Type.Integer({ minimum: 0, maximum: 65535, default: manifest.port }),
    LOG_LEVEL: LogLevel,
    LOG_PRETTY: Type.Boolean({ default: false }),
    /** Registers there, and finds the services it calls there. */
    CONSUL_URL: Type.Optional(Type.String({ minLength: 1 })),
    ADVERTISE_ADDRESS: Type.Optional(Type.String({ minLength: 1 })),
    /** The port registered in Consul when callers reach this instance through another (a proxy, a NAT). */
    ADVERTISE_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 65536 }),
    SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, default: 0 }),
    SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 1000, default: 15000 })
  }
}

/** A service that owns a database (`"database": true` in its manifest). */
export const databaseConfig = {
  DATABASE_URL: Type.String({ minLength: 1 }),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  MIGRATE_AT_START: Type.Boolean({ default: true })
}

/** A service that produces or consumes events. */
export const kafkaConfig = {
  KAFKA_BROKERS: Type.String({ minLength: 1, description: 'comma-separated host:port' }),
  /** Namespaces every topic and the consumer group (e.g. per environment or per test run). */
  KAFKA_TOPIC_PREFIX: Type.String({ default: '', pattern: '^[a-zA-Z0-9._-]*$' })
}

/** A service that uses Redis. */
export const redisConfig = { REDIS_URL: Type.String({ minLength: 1 }) }

/** The variables every service has; the database's and Kafka's when its manifest says it uses them. */
export interface BaseConfig {
  HOST: string
  PORT: number
  LOG_LEVEL: string
  LOG_PRETTY: boolean
  CONSUL_URL?: string | undefined
  ADVERTISE_ADDRESS?: string | undefined
  ADVERTISE_PORT?: number | undefined
  BODY_LIMIT_BYTES: number
  SHUTDOWN_DRAIN_MS: number
  SHUTDOWN_GRACE_MS: number
  DATABASE_URL?: string
  DATABASE_POOL_MAX?: number
  MIGRATE_AT_START?: boolean
  KAFKA_BROKERS?: string
  KAFKA_TOPIC_PREFIX?: string
}
