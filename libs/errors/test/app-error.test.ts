import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AppError, isAppError, NotFoundError, UnavailableError } from '../src/index.ts'

test('carries status, stable code, message and details', () => {
  const err = new AppError(409, 'SKU_TAKEN', 'SKU already exists', { details: { sku: 'A-1' } })

  assert.equal(err.statusCode, 409)
  assert.equal(err.code, 'SKU_TAKEN')
  assert.deepEqual(err.details, { sku: 'A-1' })
  assert.equal(err.name, 'AppError')
  assert.ok(isAppError(err))
  assert.equal(isAppError(new Error('x')), false)
})

test('rejects codes that are not SCREAMING_SNAKE and statuses outside 4xx/5xx', () => {
  assert.throws(() => new AppError(400, 'bad-code', 'x'), TypeError)
  assert.throws(() => new AppError(200, 'OK', 'x'), RangeError)
})

test('subclasses keep their own name; UnavailableError rounds Retry-After up to whole seconds', () => {
  assert.equal(new NotFoundError('ORDER_NOT_FOUND', 'no such order').statusCode, 404)
  const err = new UnavailableError('UPSTREAM_UNAVAILABLE', 'catalog is unavailable', 0.2)
  assert.equal(err.name, 'UnavailableError')
  assert.equal(err.statusCode, 503)
  assert.equal(err.retryAfterSeconds, 1)
})
