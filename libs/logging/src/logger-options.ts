import { context, isSpanContextValid, trace } from '@opentelemetry/api'
import { stdTimeFunctions, type LoggerOptions } from 'pino'

export interface LoggingOptions {
  service: string
  version: string
  level?: string
  /** Human-readable lines for a terminal (pino-pretty); JSON otherwise, as production wants. */
  pretty?: boolean
}

/** Where credentials show up in what the platform logs; each is replaced by "[redacted]". */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  '*.*.password',
  '*.*.token'
]

/**
 * pino options shared by every service: service name and version on each line, ISO timestamps,
 * textual levels, the active trace and span ids (from @opentelemetry/api, so they appear only
 * when the SDK is running), and redaction of credentials.
 */
export function loggerOptions(options: LoggingOptions): LoggerOptions {
  return {
    level: options.level ?? 'info',
    base: { service: options.service, version: options.version },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin() {
      const span = trace.getSpan(context.active())
      if (!span) return {}
      const ids = span.spanContext()
      return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {}
    },
    ...(options.pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }
          }
        }
      : {})
  }
}
