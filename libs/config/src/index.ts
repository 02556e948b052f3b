export { ConfigError, readConfig, type ConfigIssue, type ReadConfigOptions } from './read-config.ts'
