export { loadManifest, parseManifest, ManifestError, ManifestSchema, type Manifest } from './manifest.ts'
export { baseConfig, databaseConfig, kafkaConfig, redisConfig, type BaseConfig } from './config.ts'
export {
  createService,
  migrationSets,
  type Consumer,
  type Service,
  type ServiceApp,
  type ServiceAppOptions,
  type ServiceOptions,
  type UpstreamSettings
} from './create-service.ts'
export { orExit, runMigrate, runService, type RunOptions } from './run.ts'
