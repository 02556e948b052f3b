import Type, { type Static } from 'typebox'
import { readConfig as read } from '@platform/config'
import { baseConfig, databaseConfig, kafkaConfig, loadManifest } from '@platform/service'

/** services/notification/service.json: what the platform knows about the notification service. */
export const manifest = loadManifest(new URL('../', import.meta.url))

export const ConfigSchema = Type.Object({
  ...baseConfig(manifest),
  ...databaseConfig,
  ...kafkaConfig,
  /** The SMTP server, e.g. smtp://127.0.0.1:1025 (Mailpit) or smtps://user:pass@mail.example.com. */
  SMTP_URL: Type.String({ pattern: '^smtps?://' }),
  EMAIL_FROM: Type.String({ minLength: 3, default: 'Platform Shop <no-reply@shop.example.test>' }),
  /**
   * A customer's address, `{customerId}` replaced by the id the gateway authenticated. The seam
   * where a fork plugs its user directory; ids that can't form an address get in-app only.
   */
  EMAIL_TO_TEMPLATE: Type.String({
    pattern: '\\{customerId\\}',
    default: '{customerId}@customers.example.test'
  }),
  EMAIL_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 100, default: 8 }),
  EMAIL_RETRY_BASE_MS: Type.Integer({ minimum: 10, default: 5000 }),
  EMAIL_RETRY_MAX_MS: Type.Integer({ minimum: 10, default: 600000 }),
  EMAIL_POLL_MS: Type.Integer({ minimum: 10, default: 1000 }),
  /** Per SMTP connection, greeting and socket inactivity. */
  SMTP_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10000 }),
  SSE_HEARTBEAT_MS: Type.Integer({ minimum: 100, default: 15000 }),
  SSE_RETRY_MS: Type.Integer({ minimum: 100, default: 3000 })
})
export type Config = Static<typeof ConfigSchema>

export function readConfig(env: Record<string, string | undefined>): Config {
  return read(ConfigSchema, env)
}
