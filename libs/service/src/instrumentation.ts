// A service's tracing, loaded before its app: `node --import @platform/service/instrumentation
// src/server.ts`. It imports only the manifest reader and the telemetry lib, so the SDK's module
// hooks are in place before Fastify, pg, ioredis or kafkajs load. The service is named by the
// manifest beside its entry file's folder (src/ or dist/); OTEL_EXPORTER_OTLP_ENDPOINT turns
// tracing on, OTEL_TRACES_SAMPLER_RATIO sets the share of new traces kept.
import { dirname, resolve } from 'node:path'
import { startTelemetry } from '@platform/telemetry'
import { loadManifest } from './manifest.ts'

const entry = process.argv[1]
if (!entry) throw new Error('@platform/service/instrumentation: no entry script to find the service by')
const manifest = loadManifest(resolve(dirname(entry), '..'))
const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
await startTelemetry({
  serviceName: manifest.name,
  serviceVersion: manifest.version,
  ...(endpoint ? { endpoint } : {}),
  sampleRatio: Number(process.env.OTEL_TRACES_SAMPLER_RATIO ?? 1)
})
