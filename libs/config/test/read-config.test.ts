import assert from 'node:assert/strict'
import { test } from 'node:test'
import Type from 'typebox'
import { ConfigError, readConfig } from '../src/index.ts'

const Schema = Type.Object({
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3000 }),
  DATABASE_URL: Type.String({ minLength: 1 }),
  DATABASE_PASSWORD: Type.String({ minLength: 8 }),
  LOG_LEVEL: Type.Union([Type.Literal('debug'), Type.Literal('info')], { default: 'info' }),
  CACHE_ENABLED: Type.Boolean({ default: true })
})

const valid = { DATABASE_URL: 'postgres://x', DATABASE_PASSWORD: 'correct-horse' }

test('converts strings to the schema types and applies defaults', () => {
  const config = readConfig(Schema, { ...valid, PORT: '8080', CACHE_ENABLED: 'false' })

  assert.deepEqual(config, { ...valid, PORT: 8080, LOG_LEVEL: 'info', CACHE_ENABLED: false })
})

test('one error names every missing and invalid variable with what was expected', () => {
  const err = catchError(() => readConfig(Schema, { PORT: 'eighty', LOG_LEVEL: 'loud' }))

  assert.ok(err instanceof ConfigError)
  assert.deepEqual(err.issues.map((i) => i.variable).sort(), [
    'DATABASE_PASSWORD',
    'DATABASE_URL',
    'LOG_LEVEL',
    'PORT'
  ])
  assert.match(err.message, /PORT: .*got "eighty" \(expected integer, >= 1, <= 65535\)/)
  assert.match(err.message, /DATABASE_URL: missing \(expected string, length >= 1\)/)
  assert.match(err.message, /LOG_LEVEL: .*expected "debug" \| "info"/)
})

test('never prints the value of a secret variable', () => {
  const err = catchError(() => readConfig(Schema, { ...valid, DATABASE_PASSWORD: 'short' }))

  assert.ok(err instanceof ConfigError)
  assert.doesNotMatch(err.message, /short/)
  assert.match(err.message, /DATABASE_PASSWORD: .*<redacted>/)
})

test('reads a secret from NAME_FILE when NAME is unset, dropping one trailing newline', () => {
  const files: Record<string, string> = { '/run/secrets/db': 'from-a-file\n' }
  const config = readConfig(
    Schema,
    { DATABASE_URL: 'postgres://x', DATABASE_PASSWORD_FILE: '/run/secrets/db' },
    { readFile: (path) => files[path] ?? '' }
  )

  assert.equal(config.DATABASE_PASSWORD, 'from-a-file')
})

test('an unreadable NAME_FILE is reported under its own name', () => {
  const err = catchError(() =>
    readConfig(Schema, { DATABASE_URL: 'postgres://x', DATABASE_PASSWORD_FILE: '/nonexistent/secret' })
  )

  assert.ok(err instanceof ConfigError)
  assert.deepEqual(
    err.issues.map((i) => i.variable),
    ['DATABASE_PASSWORD_FILE']
  )
  assert.match(err.message, /cannot read \/nonexistent\/secret \(ENOENT\)/)
})

test('NAME wins over NAME_FILE, and unknown variables are ignored', () => {
  const config = readConfig(Schema, { ...valid, DATABASE_PASSWORD_FILE: '/nonexistent', UNRELATED: 'x' })

  assert.equal(config.DATABASE_PASSWORD, valid.DATABASE_PASSWORD)
  assert.equal('UNRELATED' in config, false)
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  assert.fail('expected an error')
}
