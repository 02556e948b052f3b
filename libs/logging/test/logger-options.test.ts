import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Writable } from 'node:stream'
import { context, trace, TraceFlags } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { pino } from 'pino'
import { loggerOptions } from '../src/index.ts'

function capture() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    }
  })
  const logger = pino(loggerOptions({ service: 'orders', version: '1.2.3', level: 'debug' }), stream)
  return { logger, lines }
}

test('every line carries the service, version, a textual level and an ISO time', () => {
  const { logger, lines } = capture()
  logger.info('hello')

  assert.equal(lines[0]?.service, 'orders')
  assert.equal(lines[0]?.version, '1.2.3')
  assert.equal(lines[0]?.level, 'info')
  assert.match(String(lines[0]?.time), /^\d{4}-\d\d-\d\dT/)
})

test('authorization headers, cookies, passwords and tokens are redacted', () => {
  const { logger, lines } = capture()
  logger.info(
    {
      req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=1', accept: 'json' } },
      res: { headers: { 'set-cookie': 'sid=2' } },
      user: { name: 'ann', password: 'hunter2' },
      token: 'tok',
      body: { auth: { token: 'deep' } }
    },
    'request'
  )

  const text = JSON.stringify(lines[0])
  for (const secret of ['abc.def', 'sid=1', 'sid=2', 'hunter2', '"tok"', 'deep']) {
    assert.equal(text.includes(secret), false, `${secret} leaked: ${text}`)
  }
  assert.equal((lines[0]?.req as { headers: { accept: string } }).headers.accept, 'json')
})

test('trace and span ids of the active span are on the line, and absent outside a span', () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  const { logger, lines } = capture()
  const ids = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED
  }

  context.with(trace.setSpanContext(context.active(), ids), () => logger.info('inside'))
  logger.info('outside')

  assert.equal(lines[0]?.trace_id, ids.traceId)
  assert.equal(lines[0]?.span_id, ids.spanId)
  assert.equal('trace_id' in (lines[1] ?? {}), false)
  context.disable()
})
