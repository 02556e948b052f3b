import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { loggerOptions } from '@platform/logging'
import { createMetrics } from '@platform/metrics'
import { httpKit, serverOptions, type HttpKitOptions } from '../src/index.ts'

export interface TestApp {
  app: FastifyInstance
  logs: Array<Record<string, unknown>>
}

/** A Fastify app with the kit, its JSON logs captured in `logs`. Routes are added by the test. */
export async function kitApp(
  options: Partial<HttpKitOptions> = {},
  routes: (app: FastifyInstance) => void = () => {},
  bodyLimit?: number
): Promise<TestApp> {
  const logs: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(chunk.toString()))
      done()
    }
  })
  const logger = { ...loggerOptions({ service: 'test', version: '0.0.0', level: 'debug' }), stream }
  const app = Fastify(serverOptions({ logger, ...(bodyLimit ? { bodyLimit } : {}) }))
  await app.register(httpKit, {
    metrics: createMetrics({ service: 'test', processMetrics: false }),
    ...options
  })
  routes(app)
  await app.ready()
  return { app, logs }
}
