// The lazy request logger writes exactly what a pino child would, and makes the child only when a
// line at an enabled level is written.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import pino, { type Logger } from 'pino'
import { lazyChildLogger } from '../src/lazy-child-logger.ts'

// Fastify calls it with the app as `this` and the raw request last; neither is used.
const lazyChild = lazyChildLogger as unknown as (logger: Logger, bindings: object, options: object) => Logger

function capture() {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const {
          time: _time,
          pid: _pid,
          hostname: _host,
          ...rest
        } = JSON.parse(line) as Record<string, unknown>
        lines.push(rest)
      }
      done()
    }
  })
  return { lines, logger: pino({ level: 'info' }, stream) }
}

// One script of calls, run on a real pino child and on the lazy one.
function script(log: Logger) {
  log.debug('hidden')
  log.info({ user: 'alice' }, 'hello %s', 'world')
  log.warn('careful')
  const sub = log.child({ step: 'two' })
  sub.error(new Error('boom'), 'failed')
  log.level = 'debug'
  log.debug('now shown')
  return { enabledTrace: log.isLevelEnabled('trace'), level: log.level }
}

test('the lazy child logs what a pino child logs, levels and nested children included', () => {
  const real = capture()
  const lazy = capture()
  const a = script(real.logger.child({ reqId: 'r-1' }))
  const b = script(lazyChild(lazy.logger, { reqId: 'r-1' }, {}))
  const strip = (lines: Array<Record<string, unknown>>) =>
    lines.map(({ err, ...rest }) => ({
      ...rest,
      err: err ? (err as { message: string }).message : undefined
    }))
  assert.deepEqual(strip(lazy.lines), strip(real.lines))
  assert.deepEqual(b, a)
  assert.equal(real.lines.length, 4)
  assert.equal(real.lines[0]!.reqId, 'r-1')
})

test('no child is made for a request that logs nothing at an enabled level', () => {
  const { logger } = capture()
  let children = 0
  const counting = new Proxy(logger, {
    get(target, key, receiver) {
      if (key === 'child')
        return (...args: Parameters<Logger['child']>) => (children++, target.child(...args))
      return Reflect.get(target, key, receiver)
    }
  })
  const log = lazyChild(counting, { reqId: 'r-2' }, {})
  log.debug('below the level')
  log.trace('below too')
  assert.equal(log.isLevelEnabled('info'), true)
  assert.equal(children, 0)
  log.info('now')
  log.info('again')
  assert.equal(children, 1)
})
