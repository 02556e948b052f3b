import Type, { type Static } from 'typebox'
import { ConfigError, readConfig as read } from '@platform/config'
import { baseConfig, databaseConfig, kafkaConfig, loadManifest } from '@platform/service'

/** services/order/service.json: what the platform knows about the order service. */
export const manifest = loadManifest(new URL('../', import.meta.url))

export const ConfigSchema = Type.Object({
  ...baseConfig(manifest),
  ...databaseConfig,
  ...kafkaConfig,
  /** Where the catalog is: resolved through Consul when CONSUL_URL is set, else this fixed URL. */
  CATALOG_URL: Type.Optional(Type.String({ minLength: 1 })),
  CATALOG_TIMEOUT_MS: Type.Integer({ minimum: 50, default: 1000 }),
  /** A PENDING order with no answer from the catalog this long is rejected as expired. */
  ORDER_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 300000 }),
  RETENTION_SWEEP_MS: Type.Integer({ minimum: 1000, default: 600000 }),
  EXPIRY_SWEEP_MS: Type.Integer({ minimum: 50, default: 5000 })
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
