import { randomUUID } from 'node:crypto'
import { AppError } from '@platform/errors'
import type { Pool, PoolClient } from '@platform/postgres'
import type { Kind, Message } from '../domain/render.ts'

type Db = Pool | PoolClient

/** Postgres tells every instance (LISTEN) that a customer has a new notification, at commit. */
export const STORED_CHANNEL = 'notification_stored'

export interface Notification {
  id: string
  /** Position in the customer's feed: the SSE event id, and what `Last-Event-ID` names. */
  seq: string
  orderId: string
  kind: Kind
  subject: string
  text: string
  createdAt: string
  email?: { status: 'pending' | 'sent' | 'failed'; attempts: number }
}

const COLUMNS = `n.id, n.seq::text AS seq, n.order_id, n.kind, n.subject, n.text_body, n.created_at,
  d.status AS email_status, d.attempts AS email_attempts`
const FROM = `notifications n LEFT JOIN deliveries d ON d.notification_id = n.id AND d.channel = 'email'`

interface Row {
  id: string
  seq: string
  order_id: string
  kind: Kind
  subject: string
  text_body: string
  created_at: Date
  email_status: 'pending' | 'sent' | 'failed' | null
  email_attempts: number | null
}

function toNotification(r: Row): Notification {
  return {
    id: r.id,
    seq: r.seq,
    orderId: r.order_id,
    kind: r.kind,
    subject: r.subject,
    text: r.text_body,
    createdAt: r.created_at.toISOString(),
    ...(r.email_status ? { email: { status: r.email_status, attempts: r.email_attempts ?? 0 } } : {})
  }
}

export interface NewNotification {
  customerId: string
  orderId: string
  kind: Kind
  eventId: string
  message: Message
  /** Where the email goes; none → in-app only. */
  recipient?: string
}

/**
 * Stores a notification and its pending email, once per order and kind (a second event of the
 * same kind changes nothing and returns undefined), and announces it to every instance at commit.
 * A customer's notifications are written one at a time (a transaction-scoped lock), so their `seq`
 * order is their commit order and a stream that has seen seq n has seen everything before it.
 */
export async function storeNotification(client: PoolClient, n: NewNotification): Promise<string | undefined> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [
    `notification:${n.customerId}`
  ])
  const { rows } = await client.query<{ seq: string }>(
    `INSERT INTO notifications (id, customer_id, order_id, kind, subject, text_body, html_body, event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (order_id, kind) DO NOTHING
     RETURNING seq::text AS seq`,
    [
      randomUUID(),
      n.customerId,
      n.orderId,
      n.kind,
      n.message.subject,
      n.message.text,
      n.message.html,
      n.eventId
    ]
  )
  const stored = rows[0]
  if (!stored) return undefined
  if (n.recipient) {
    await client.query(
      `INSERT INTO deliveries (notification_id, channel, recipient, status)
       SELECT id, 'email', $2, 'pending' FROM notifications WHERE seq = $1`,
      [stored.seq, n.recipient]
    )
  }
  await client.query('SELECT pg_notify($1, $2)', [
    STORED_CHANNEL,
    JSON.stringify({ customerId: n.customerId, seq: stored.seq })
  ])
  return stored.seq
}

/** The customer's notifications after `afterSeq`, oldest first: what a stream has not seen yet. */
export async function notificationsAfter(
  db: Db,
  customerId: string,
  afterSeq: string,
  limit = 500
): Promise<Notification[]> {
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM ${FROM} WHERE n.customer_id = $1 AND n.seq > $2 ORDER BY n.seq LIMIT $3`,
    [customerId, afterSeq, limit]
  )
  return rows.map(toNotification)
}

/** The newest seq the customer has (0 with none): where a stream without Last-Event-ID starts. */
export async function latestSeq(db: Db, customerId: string): Promise<string> {
  const { rows } = await db.query<{ seq: string }>(
    'SELECT coalesce(max(seq), 0)::text AS seq FROM notifications WHERE customer_id = $1',
    [customerId]
  )
  return rows[0]!.seq
}

/** The customer's notifications, newest first, by keyset pagination on seq. */
export async function listNotifications(
  db: Db,
  customerId: string,
  limit: number,
  cursor?: string
): Promise<{ items: Notification[]; nextCursor?: string }> {
  const before = cursor === undefined ? undefined : decodeCursor(cursor)
  const { rows } = await db.query<Row>(
    `SELECT ${COLUMNS} FROM ${FROM}
     WHERE n.customer_id = $1 AND ($2::bigint IS NULL OR n.seq < $2::bigint)
     ORDER BY n.seq DESC LIMIT $3`,
    [customerId, before ?? null, limit + 1]
  )
  const items = rows.slice(0, limit).map(toNotification)
  const last = items.at(-1)
  return rows.length > limit && last
    ? { items, nextCursor: Buffer.from(last.seq).toString('base64url') }
    : { items }
}

function decodeCursor(cursor: string): string {
  const seq = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!/^[1-9][0-9]{0,18}$/.test(seq))
    throw new AppError(400, 'INVALID_CURSOR', 'the cursor is not valid for this query')
  return seq
}

export interface DueEmail {
  notificationId: string
  recipient: string
  attempts: number
  subject: string
  text: string
  html: string
}

/**
 * Claims up to `limit` emails that are due: each gets one more attempt and is leased for `leaseMs`
 * (not due again before), so instances never send the same email side by side, and an instance
 * that dies mid-send leaves it to be retried when the lease runs out.
 */
export async function claimDueEmails(db: Db, limit: number, leaseMs: number): Promise<DueEmail[]> {
  const { rows } = await db.query<{
    notification_id: string
    recipient: string
    attempts: number
    subject: string
    text_body: string
    html_body: string
  }>(
    `WITH due AS (
       SELECT notification_id FROM deliveries
       WHERE channel = 'email' AND status = 'pending' AND next_attempt_at <= now()
       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE deliveries d
     SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2::float8 / 1000),
         updated_at = now()
     FROM due, notifications n
     WHERE d.notification_id = due.notification_id AND d.channel = 'email' AND n.id = d.notification_id
     RETURNING d.notification_id, d.recipient, d.attempts, n.subject, n.text_body, n.html_body`,
    [limit, leaseMs]
  )
  return rows.map((r) => ({
    notificationId: r.notification_id,
    recipient: r.recipient,
    attempts: r.attempts,
    subject: r.subject,
    text: r.text_body,
    html: r.html_body
  }))
}

export async function markEmailSent(db: Db, notificationId: string): Promise<void> {
  await db.query(
    `UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = NULL, updated_at = now()
     WHERE notification_id = $1 AND channel = 'email' AND status = 'pending'`,
    [notificationId]
  )
}

/**
 * Records a failed attempt: due again after `retryInMs`, or failed for good when `final`
 * (the attempts are used up or the server refused the message permanently).
 */
export async function markEmailAttemptFailed(
  db: Db,
  notificationId: string,
  error: string,
  retryInMs: number,
  final: boolean
): Promise<void> {
  await db.query(
    `UPDATE deliveries
     SET status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END,
         next_attempt_at = now() + make_interval(secs => $3::float8 / 1000),
         last_error = left($2, 1000), updated_at = now()
     WHERE notification_id = $1 AND channel = 'email' AND status = 'pending'`,
    [notificationId, error, retryInMs, final]
  )
}

export async function pendingEmails(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries WHERE channel = 'email' AND status = 'pending'`
  )
  return rows[0]!.n
}
