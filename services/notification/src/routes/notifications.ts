import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import {
  ErrorBodySchema,
  FeedPositionSchema,
  NotificationSchema,
  PageQuerySchema,
  PageSchema
} from '@platform/contracts'
import { AppError } from '@platform/errors'
import { callerOf } from '@platform/http-kit'
import {
  latestSeq,
  listNotifications,
  notificationsAfter,
  type Notification
} from '../adapters/notifications-repository.ts'
import type { StoredListener } from '../adapters/stored-listener.ts'

export interface NotificationRoutesOptions {
  listener: StoredListener
  /** A comment line this often keeps proxies and load balancers from closing an idle stream. */
  heartbeatMs: number
  /** What clients wait before reconnecting (the SSE `retry` field). */
  reconnectMs: number
}

// A stream whose client reads slower than this much buffered output is closed; it reconnects with
// Last-Event-ID and is replayed from the database instead of growing this process's memory.
const MAX_BUFFERED_BYTES = 1 << 20
const SEQ = /^(0|[1-9][0-9]{0,18})$/

function frame(n: Notification): string {
  return `id: ${n.seq}\nevent: notification\ndata: ${JSON.stringify(n)}\n\n`
}

export const notificationRoutes: FastifyPluginAsyncTypebox<NotificationRoutesOptions> = async (
  app,
  { listener, heartbeatMs, reconnectMs }
) => {
  const pg = app.pg
  const open = new Set<ServerResponse>()

  app.get(
    '/notifications',
    {
      schema: {
        querystring: Type.Object(PageQuerySchema.properties, { additionalProperties: false }),
        response: { 200: PageSchema(NotificationSchema), 400: ErrorBodySchema, 401: ErrorBodySchema }
      }
    },
    async (request) => listNotifications(pg, callerOf(request).id, request.query.limit, request.query.cursor)
  )

  app.get(
    '/notifications/stream',
    {
      schema: {
        // Browsers can't set headers on an EventSource: the first connection may pass ?lastEventId=.
        querystring: Type.Object(
          { lastEventId: Type.Optional(FeedPositionSchema) },
          { additionalProperties: false }
        ),
        response: { 400: ErrorBodySchema, 401: ErrorBodySchema }
      }
    },
    async (request, reply) => {
      const customerId = callerOf(request).id
      const given = request.headers['last-event-id'] ?? request.query.lastEventId
      if (given !== undefined && (typeof given !== 'string' || !SEQ.test(given)))
        throw new AppError(
          400,
          'INVALID_LAST_EVENT_ID',
          'Last-Event-ID must be the id of an event of this stream'
        )
      // Without Last-Event-ID the stream starts now; with it, everything after it is replayed first.
      let cursor = given ?? (await latestSeq(pg, customerId))

      reply.hijack()
      const raw = reply.raw
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no', // NGINX passes it unbuffered
        'x-request-id': request.id
      })
      raw.write(`retry: ${reconnectMs}\n\n`)
      open.add(raw)

      // One reader at a time; a wake-up during a read makes it read again.
      let reading = false
      let again = false
      const pushNew = async () => {
        if (reading) {
          again = true
          return
        }
        reading = true
        try {
          do {
            again = false
            for (const n of await notificationsAfter(pg, customerId, cursor)) {
              raw.write(frame(n))
              cursor = n.seq
            }
          } while (again && !raw.destroyed)
          if (raw.writableLength > MAX_BUFFERED_BYTES) raw.destroy()
        } catch (err) {
          request.log.warn({ err }, 'notification stream read failed; the next wake-up retries')
        } finally {
          reading = false
        }
      }
      // Subscribe before the replay, so nothing committed in between is missed.
      const unsubscribe = listener.subscribe(customerId, () => void pushNew())
      const heartbeat = setInterval(() => {
        raw.write(': heartbeat\n\n')
        void pushNew() // also covers a LISTEN connection that dropped
      }, heartbeatMs)
      raw.once('close', () => {
        clearInterval(heartbeat)
        unsubscribe()
        open.delete(raw)
      })
      await pushNew()
    }
  )

  // After the instance is deregistered and drained, streams end: clients reconnect elsewhere with
  // Last-Event-ID. (Registered after the HTTP kit, so this runs after its deregister and drain.)
  app.addHook('preClose', async () => {
    for (const raw of open) raw.end()
  })
}
