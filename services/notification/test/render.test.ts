import assert from 'node:assert/strict'
import { test } from 'node:test'
import { templatesDir } from '../src/app.ts'
import { retryDelay } from '../src/email/sender.ts'
import { recipientFrom } from '../src/domain/recipient.ts'
import { formatMoney, loadTemplates, orderNumber } from '../src/domain/render.ts'

const render = loadTemplates(templatesDir)
const orderId = '9a8b7c6d-1111-4222-8333-444455556666'

test('money is written in the currency’s own minor unit', () => {
  assert.equal(formatMoney(2999, 'EUR'), '€29.99')
  assert.equal(formatMoney(1500, 'JPY'), '¥1,500') // no minor unit
  assert.match(formatMoney(1234, 'KWD'), /^KWD\s1\.234$/) // three decimals (ICU puts a no-break space)
})

test('the order number is the id’s first eight hex digits', () => {
  assert.equal(orderNumber(orderId), '9A8B7C6D')
})

test('a confirmation lists every line and the total; markup in data is escaped in HTML only', () => {
  const m = render('order.confirmed', {
    orderId,
    customerId: 'alice',
    lines: [{ productId: '00000000-0000-4000-8000-000000000001', quantity: 3, unitPriceMinor: 250 }],
    totalMinor: 750,
    currency: 'USD'
  })
  assert.equal(m.subject, 'Order 9A8B7C6D is confirmed')
  assert.match(m.text, /3 × 00000000-0000-4000-8000-000000000001 at \$2\.50 = \$7\.50/)
  assert.match(m.text, /Total: \$7\.50/)
  assert.match(m.html, /<td>3<\/td><td>\$2\.50<\/td><td>\$7\.50<\/td>/)

  const r = render('order.rejected', { orderId, customerId: 'alice', reason: 'a <script> & "quotes"' })
  assert.match(r.text, /Reason: a <script> & "quotes"/)
  assert.match(r.html, /Reason: a &lt;script&gt; &amp; &quot;quotes&quot;/)
  assert.equal(
    render('order.cancelled', { orderId, customerId: 'alice' }).subject,
    'Order 9A8B7C6D is cancelled'
  )
})

test('an address comes from the template; an id that cannot be one gets none', () => {
  const to = recipientFrom('{customerId}@shop.test')
  assert.equal(to('alice.b+1'), 'alice.b+1@shop.test')
  assert.equal(to('a b'), undefined)
  assert.equal(to('x@evil.test, y'), undefined)
})

test('retry delays grow by attempt up to the cap, half of them jittered', () => {
  assert.equal(
    retryDelay(1, 1000, 60_000, () => 0),
    500
  )
  assert.equal(
    retryDelay(1, 1000, 60_000, () => 1),
    1000
  )
  assert.equal(
    retryDelay(4, 1000, 60_000, () => 0),
    4000
  )
  assert.equal(
    retryDelay(20, 1000, 60_000, () => 1),
    60_000
  )
})
