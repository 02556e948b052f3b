import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import Type, { type Static } from 'typebox'
import {
  DeadLetterListSchema,
  DeadLetterQuerySchema,
  DeadLetterSchema,
  ErrorBodySchema,
  type DeadLetterView
} from '@platform/contracts'
import { AppError } from '@platform/errors'
import { requireRole } from '@platform/http-kit'
import '@platform/postgres'
import { listDeadLetters, replayDeadLetters, replayMarks, type DeadLetter } from './dead-letters.ts'

export interface DeadLetterAdminOptions {
  brokers: string[]
  /** The topics this service consumes, as on the broker (with any prefix): their DLQs are its own. */
  topics: string[]
  /** Its consumer group, as on the broker: letters another group gave up on are not its to replay. */
  group: string
}

const LetterParams = Type.Object({
  dlq: Type.String({ minLength: 5, maxLength: 249, pattern: '^[A-Za-z0-9._-]+\\.dlq$' }),
  partition: Type.Integer({ minimum: 0, maximum: 10_000 }),
  offset: Type.String({ pattern: '^[0-9]{1,19}$' })
})

/**
 * The service's dead letters for the operations console (behind the gateway's admin routes): the
 * letters of its own DLQs and group, and replaying one back to its topic. A replay is recorded;
 * replaying a letter again is harmless, consumers apply each event once (inbox).
 */
async function plugin(app: FastifyInstance, options: DeadLetterAdminOptions): Promise<void> {
  const dlqs = options.topics.map((t) => `${t}.dlq`)
  const mine = (l: DeadLetter) => dlqs.includes(l.dlq) && (l.group === undefined || l.group === options.group)

  async function letters(): Promise<DeadLetterView[]> {
    const [all, marks, replays] = await Promise.all([
      listDeadLetters({ brokers: options.brokers, topics: dlqs }),
      replayMarks({ brokers: options.brokers, topics: dlqs }),
      app.pg.query<{ dlq: string; partition: number; offset: string }>(
        'SELECT dlq, partition, "offset"::text AS offset FROM dead_letter_replays WHERE dlq = ANY($1)',
        [dlqs]
      )
    ])
    const replayed = new Set(replays.rows.map((r) => `${r.dlq}/${r.partition}/${r.offset}`))
    return all.filter(mine).map(({ headers: _headers, ...l }) => ({
      ...l,
      replayed:
        replayed.has(`${l.dlq}/${l.partition}/${l.offset}`) ||
        BigInt(l.offset) < (marks.get(`${l.dlq}/${l.partition}`) ?? 0n)
    }))
  }

  app.get(
    '/admin/dead-letters',
    {
      schema: {
        querystring: DeadLetterQuerySchema,
        response: { 200: DeadLetterListSchema, 400: ErrorBodySchema, 403: ErrorBodySchema }
      }
    },
    async (request) => {
      requireRole(request, 'admin')
      const query = request.query as Static<typeof DeadLetterQuerySchema>
      const matching = (await letters()).filter(
        (l) =>
          (query.key === undefined || l.key === query.key || l.id === query.key) &&
          (query.pending !== true || !l.replayed)
      )
      const newest = matching.sort((a, b) => (a.failedAt < b.failedAt ? 1 : a.failedAt > b.failedAt ? -1 : 0))
      return {
        items: newest.slice(0, query.limit),
        total: matching.length,
        pending: matching.filter((l) => !l.replayed).length
      }
    }
  )

  app.post(
    '/admin/dead-letters/:dlq/:partition/:offset/replay',
    {
      schema: {
        params: LetterParams,
        response: { 200: DeadLetterSchema, 403: ErrorBodySchema, 404: ErrorBodySchema }
      }
    },
    async (request) => {
      const caller = requireRole(request, 'admin')
      const { dlq, partition, offset } = request.params as Static<typeof LetterParams>
      const wanted = (l: DeadLetter) => l.dlq === dlq && l.partition === partition && l.offset === offset
      if (!dlqs.includes(dlq))
        throw new AppError(404, 'DEAD_LETTER_NOT_FOUND', `${dlq} is not a DLQ of this service`)
      const { replayed } = await replayDeadLetters({
        brokers: options.brokers,
        topics: [dlq],
        filter: (l) => wanted(l) && mine(l)
      })
      const letter = replayed[0]
      if (!letter) {
        // Below the replay group's mark it was put back by a whole replay already: nothing to find.
        throw new AppError(
          404,
          'DEAD_LETTER_NOT_FOUND',
          `no pending dead letter ${dlq}/${partition}/${offset}`
        )
      }
      await app.pg.query(
        `INSERT INTO dead_letter_replays (dlq, partition, "offset", replayed_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (dlq, partition, "offset") DO UPDATE SET replayed_at = now(), replayed_by = EXCLUDED.replayed_by`,
        [dlq, partition, offset, caller.id]
      )
      request.log.info({ dlq, partition, offset, by: caller.id }, 'dead letter replayed')
      const { headers: _headers, ...view } = letter
      return { ...view, replayed: true }
    }
  )
}

export const deadLetterAdmin = fp(plugin, { name: 'dead-letter-admin' })
