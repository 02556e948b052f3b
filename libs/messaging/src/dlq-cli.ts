// The dead-letter queues from the command line: what is in them, and putting it back.
//   list [--pending] [--json] [TOPIC.dlq ...]     every dead letter (or only those not replayed yet)
//   replay [--dry-run] [TOPIC.dlq ...]            every letter not replayed yet, back to its topic
//   replay --only DLQ/PARTITION/OFFSET ...        just these letters (the others stay pending)
// The brokers come from KAFKA_BROKERS, as in the services: `npm run dlq -- list` natively, or
// `node /app/libs/messaging/dist/dlq-cli.js list` inside a service's container or pod.
import { parseArgs } from 'node:util'
import { listDeadLetters, replayDeadLetters, type DeadLetter } from './dead-letters.ts'

const USAGE =
  'usage: dlq list [--pending] [--json] [TOPIC.dlq ...] | dlq replay [--dry-run] [--only DLQ/PARTITION/OFFSET ...] [TOPIC.dlq ...]'

function table(letters: DeadLetter[]): string {
  if (letters.length === 0) return 'no dead letters'
  return letters
    .map(
      (l) =>
        `${l.dlq}/${l.partition}/${l.offset}  ${l.failedAt}  ${l.reason} after ${l.attempts} attempt(s)  ` +
        `${l.type ?? '(not an event)'} ${l.id ?? ''}\n    ${l.error}`
    )
    .join('\n')
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      pending: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const [command, ...topics] = positionals
  if (values.help || (command !== 'list' && command !== 'replay')) {
    process.stderr.write(`${USAGE}\n`)
    return values.help ? 0 : 2
  }
  const brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean)
  if (!brokers?.length) {
    process.stderr.write('KAFKA_BROKERS is not set (host:port of the brokers, comma-separated)\n')
    return 2
  }
  const options = { brokers, ...(topics.length ? { topics } : {}) }
  if (command === 'list') {
    const letters = await listDeadLetters({ ...options, pending: values.pending })
    process.stdout.write(`${values.json ? JSON.stringify(letters, null, 2) : table(letters)}\n`)
    return 0
  }
  const only = new Set(values.only ?? [])
  const { replayed } = await replayDeadLetters({
    ...options,
    dryRun: values['dry-run'],
    ...(only.size ? { filter: (l: DeadLetter) => only.has(`${l.dlq}/${l.partition}/${l.offset}`) } : {})
  })
  const verb = values['dry-run'] ? 'would replay' : 'replayed'
  process.stdout.write(
    `${verb} ${replayed.length} dead letter(s)\n${replayed.length ? table(replayed) + '\n' : ''}`
  )
  if (only.size > replayed.length) {
    process.stderr.write(
      `not found among the pending letters: ${[...only].filter((o) => !replayed.some((l) => `${l.dlq}/${l.partition}/${l.offset}` === o)).join(', ')}\n`
    )
    return 1
  }
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`dlq: ${err.message}\n`)
    process.exit(1)
  }
)
