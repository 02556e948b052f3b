export { loggerOptions, REDACTED_PATHS, type LoggingOptions } from './logger-options.ts'
