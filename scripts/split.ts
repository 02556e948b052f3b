// Traffic splits at run time (services/gateway/src/splits.ts): every gateway instance follows them
// from Consul's KV store within moments, without a restart.
// Usage: npm run split -- show
//        npm run split -- set UPSTREAM TARGET WEIGHT [ROUTE,...]   e.g. set catalog catalog-v2 10 'GET /products/:id'
//        npm run split -- clear UPSTREAM
import Value from 'typebox/value'
import { compareAndSet, createConsul, readKey } from '../libs/discovery/src/index.ts'
import { SPLITS_PREFIX, SplitSchema, type SplitConfig } from '../services/gateway/src/splits.ts'

const consul = createConsul(process.env.CONSUL_URL ?? 'http://127.0.0.1:8500')
const prefix = process.env.SPLITS_PREFIX ?? SPLITS_PREFIX
const [command, upstream, target, weight, routes] = process.argv.slice(2)

function fail(message: string): never {
  process.stderr.write(`split: ${message}\n`)
  process.exit(2)
}

if (command === 'show') {
  const entries = ((await consul.kv.get({ key: prefix, recurse: true })) ?? []) as Array<{
    Key: string
    Value: string
  }>
  if (entries.length === 0) console.log('no traffic splits')
  for (const e of entries) console.log(`${e.Key.slice(prefix.length)}: ${e.Value}`)
} else if (command === 'set' && upstream && target && weight) {
  const next: SplitConfig = {
    target,
    weight: Number(weight),
    ...(routes ? { routes: routes.split(',').map((r) => r.trim()) } : {})
  }
  if (!Value.Check(SplitSchema, next))
    fail(`not a valid split: ${[...Value.Errors(SplitSchema, next)][0]?.message}`)
  // Keeps the guard a previous setting had; a new weight clears the last rollback.
  const current = await readKey(consul, prefix + upstream)
  const previous = current ? (JSON.parse(current.value) as SplitConfig) : undefined
  const written = { ...(previous?.guard ? { guard: previous.guard } : {}), ...next }
  if (!(await compareAndSet(consul, prefix + upstream, JSON.stringify(written), current?.modifyIndex ?? 0)))
    fail('the split changed meanwhile (a rollback?): show it, then set it again')
  console.log(`${upstream}: ${weight} % of callers to ${target}${routes ? ` on ${routes}` : ''}`)
} else if (command === 'clear' && upstream) {
  await consul.kv.del({ key: prefix + upstream })
  console.log(`${upstream}: no split`)
} else {
  fail('usage: show | set UPSTREAM TARGET WEIGHT [ROUTE,...] | clear UPSTREAM')
}
