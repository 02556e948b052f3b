import { setTimeout as sleep } from 'node:timers/promises'
import type { Transporter } from 'nodemailer'
import { deliveryMetrics, type Metrics } from '@platform/metrics'
import type { Pool } from '@platform/postgres'
import {
  claimDueEmails,
  markEmailAttemptFailed,
  markEmailSent,
  pendingEmails,
  type DueEmail
} from '../adapters/notifications-repository.ts'

export interface EmailSenderOptions {
  pool: Pool
  transport: Pick<Transporter, 'sendMail'>
  from: string
  metrics: Metrics
  /** Attempts before an email is marked failed. */
  maxAttempts: number
  /** Retry delay: grows from `retryBaseMs`, doubling per attempt up to `retryMaxMs`, half of it jittered. */
  retryBaseMs: number
  retryMaxMs: number
  /** How often pending emails are looked for when nothing wakes the sender. */
  pollMs: number
  /** How long a claimed email is not claimed again (longer than one send can take). */
  leaseMs?: number
  batchSize?: number
  /** Host name in Message-ID: the id is the notification's, so a re-sent email is recognisably the same. */
  messageIdDomain?: string
  onError: (err: unknown) => void
  log: (message: string, extra: Record<string, unknown>) => void
}

export interface EmailSender {
  start(): void
  /** Looks for due emails now (a notification was just stored). */
  wake(): void
  /** Finishes the batch in hand and stops. */
  stop(): Promise<void>
}

/** Delay before attempt `attempts + 1`: half fixed, half random, so instances don't retry in step. */
export function retryDelay(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1))
  return Math.round(cap / 2 + (random() * cap) / 2)
}

/** SMTP 5xx answers are permanent (no such mailbox, message refused): retrying would not help. */
function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: number }).responseCode
  return typeof code === 'number' && code >= 500 && code < 600
}

/**
 * Sends the pending emails of every instance: claims due ones (leased, so instances never send one
 * side by side), sends each over SMTP, marks it sent — or schedules a retry with backoff, and after
 * `maxAttempts` (or a permanent refusal) marks it failed and counts it for the alert.
 *
 * Delivery is at least once towards the SMTP server: a crash between the server's acceptance and
 * the commit of `sent` sends it again when the lease ends. The Message-ID is the notification's
 * own, so such a duplicate is recognisable downstream.
 */
export function createEmailSender(options: EmailSenderOptions): EmailSender {
  const { pool, transport, metrics } = options
  const deliveries = deliveryMetrics(metrics.registry)
  // Every outcome counted from 0, so an alert on increase() sees the first failure too.
  for (const outcome of ['sent', 'retry', 'failed']) deliveries.attempts.inc({ channel: 'email', outcome }, 0)
  const batchSize = options.batchSize ?? 20
  const leaseMs = options.leaseMs ?? 60_000
  const domain = options.messageIdDomain ?? 'notification.platform.local'
  let running = false
  let loop: Promise<void> | undefined
  let wakeUp: AbortController | undefined
  let woken = false

  const refreshPending = async () => deliveries.pending.set({ channel: 'email' }, await pendingEmails(pool))

  async function send(email: DueEmail): Promise<void> {
    try {
      await transport.sendMail({
        from: options.from,
        to: email.recipient,
        subject: email.subject,
        text: email.text,
        html: email.html,
        messageId: `<${email.notificationId}@${domain}>`
      })
      await markEmailSent(pool, email.notificationId)
      deliveries.attempts.inc({ channel: 'email', outcome: 'sent' })
    } catch (err) {
      const final = email.attempts >= options.maxAttempts || isPermanent(err)
      const message = err instanceof Error ? err.message : String(err)
      await markEmailAttemptFailed(
        pool,
        email.notificationId,
        message,
        retryDelay(email.attempts, options.retryBaseMs, options.retryMaxMs),
        final
      )
      deliveries.attempts.inc({ channel: 'email', outcome: final ? 'failed' : 'retry' })
      options.log(final ? 'email failed for good' : 'email attempt failed; will retry', {
        notificationId: email.notificationId,
        attempts: email.attempts,
        error: message
      })
    }
  }

  async function run(): Promise<void> {
    while (running) {
      let claimed = 0
      try {
        woken = false
        const due = await claimDueEmails(pool, batchSize, leaseMs)
        claimed = due.length
        await Promise.all(due.map(send))
        await refreshPending()
      } catch (err) {
        options.onError(err) // the database is away: try again at the next poll
      }
      if (claimed === batchSize || woken || !running) continue
      wakeUp = new AbortController()
      await sleep(options.pollMs, undefined, { signal: wakeUp.signal }).catch(() => {})
    }
  }

  return {
    start() {
      if (running) return
      running = true
      loop = run()
    },
    wake() {
      woken = true
      wakeUp?.abort()
    },
    async stop() {
      running = false
      wakeUp?.abort()
      await loop
    }
  }
}
