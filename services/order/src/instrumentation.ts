// Loaded with `node --import` before the app, so tracing sees every module load.
import { startTelemetry } from '@platform/telemetry'

const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT
export const telemetry = await startTelemetry({
  serviceName: 'order',
  serviceVersion: '0.1.0',
  ...(endpoint ? { endpoint } : {}),
  sampleRatio: Number(process.env.OTEL_TRACES_SAMPLER_RATIO ?? 1)
})
