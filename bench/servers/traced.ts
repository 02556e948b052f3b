// Tracing for a benchmark server, as a service's instrumentation file does it: 100 % sampling,
// exported over OTLP/HTTP to the sink given in BENCH_OTLP_ENDPOINT.
import { startTelemetry } from '@platform/telemetry'

await startTelemetry({
  serviceName: 'bench',
  serviceVersion: '0.0.0',
  endpoint: process.env.BENCH_OTLP_ENDPOINT!,
  sampleRatio: 1
})
