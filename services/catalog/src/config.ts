import Type, { type Static } from 'typebox'
import { readConfig as read } from '@platform/config'
import { baseConfig, databaseConfig, kafkaConfig, loadManifest, redisConfig } from '@platform/service'

/** services/catalog/service.json: what the platform knows about the catalog. */
export const manifest = loadManifest(new URL('../', import.meta.url))

export const ConfigSchema = Type.Object({
  ...baseConfig(manifest),
  ...databaseConfig,
  ...kafkaConfig,
  ...redisConfig,
  CACHE_ENABLED: Type.Boolean({ default: true }),
  CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, default: 60 })
})
export type Config = Static<typeof ConfigSchema>

export function readConfig(env: Record<string, string | undefined>): Config {
  return read(ConfigSchema, env)
}
