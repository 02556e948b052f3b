import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { eventually, stack } from '@platform/testing'
import { compareAndSet, createConsul, readKey, watchPrefix, type KvEntry } from '../src/index.ts'

const consul = createConsul(stack.consul.url)

test('a watch sees the keys below its prefix at once and every change after; compare-and-set refuses a stale index', async (t) => {
  const prefix = `test/kv-${randomUUID().slice(0, 8)}/`
  t.after(() => consul.kv.del({ key: prefix, recurse: true }))
  const seen: KvEntry[][] = []
  const watch = watchPrefix({
    consul,
    prefix,
    waitSeconds: 5,
    onChange: (entries) => void seen.push(entries)
  })
  t.after(() => watch.stop())
  await eventually(5000, 'the first answer (no keys)', async () => (seen.length > 0 ? true : undefined))
  assert.deepEqual(seen[0], [])

  assert.equal(await compareAndSet(consul, `${prefix}a`, 'one', 0), true, 'index 0: only if absent')
  assert.equal(await compareAndSet(consul, `${prefix}a`, 'again', 0), false)
  const a = await readKey(consul, `${prefix}a`)
  assert.equal(a?.value, 'one')
  await eventually(5000, 'the change seen', async () =>
    seen.at(-1)?.some((e) => e.key === `${prefix}a` && e.value === 'one') ? true : undefined
  )

  assert.equal(await compareAndSet(consul, `${prefix}a`, 'two', a!.modifyIndex), true)
  assert.equal(await compareAndSet(consul, `${prefix}a`, 'three', a!.modifyIndex), false, 'a stale index')
  assert.equal((await readKey(consul, `${prefix}a`))?.value, 'two')
  assert.equal(await readKey(consul, `${prefix}missing`), undefined)

  await consul.kv.del({ key: `${prefix}a` })
  await eventually(5000, 'the deletion seen', async () => (seen.at(-1)?.length === 0 ? true : undefined))
})
