import { once } from 'node:events'
import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { freePort } from './free-port.ts'
import { host } from './stack.ts'

export interface ReceivedMail {
  from: string
  to: string[]
  messageId: string | undefined
  subject: string
  text: string
  html: string
  receivedAt: Date
}

export interface SmtpSink {
  /** smtp://127.0.0.1:<port> — stays the same across stop() and start(). */
  url: string
  port: number
  received: ReceivedMail[]
  /** Stops listening and drops open connections: the server is gone, as if it crashed. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Answers RCPT TO for `address` with a permanent 550 from now on. */
  refuse(address: string): void
}

function summary(mail: ParsedMail): ReceivedMail {
  const to = [mail.to ?? []].flat().flatMap((a) => a.value.map((v) => v.address ?? ''))
  return {
    from: mail.from?.value[0]?.address ?? '',
    to,
    messageId: mail.messageId,
    subject: mail.subject ?? '',
    text: mail.text ?? '',
    html: typeof mail.html === 'string' ? mail.html : '',
    receivedAt: new Date()
  }
}

/**
 * A real SMTP server (the `smtp-server` package over TCP on 127.0.0.1) that keeps what it receives,
 * parsed. Plain SMTP without authentication, like Mailpit in development.
 */
export async function smtpSink(port?: number): Promise<SmtpSink> {
  const chosen = port ?? (await freePort())
  const received: ReceivedMail[] = []
  const refused = new Set<string>()
  let server: SMTPServer | undefined

  const make = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 100,
      onRcptTo(address, _session, callback) {
        if (refused.has(address.address)) {
          const err = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 })
          callback(err)
          return
        }
        callback()
      },
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            received.push(summary(mail))
            callback()
          },
          (err: Error) => callback(err)
        )
      }
    })

  const sink: SmtpSink = {
    url: `smtp://${host}:${chosen}`,
    port: chosen,
    received,
    async start() {
      if (server) return
      server = make()
      server.on('error', () => {}) // a client that vanishes mid-session is not the test's failure
      server.listen(chosen, host)
      await once(server.server, 'listening')
    },
    async stop() {
      const s = server
      server = undefined
      if (!s) return
      // Drop live connections at once (a pooled client holds one), then stop listening.
      for (const c of s.connections) c.close()
      await new Promise<void>((resolve) => s.close(() => resolve()))
    },
    refuse(address) {
      refused.add(address)
    }
  }
  await sink.start()
  return sink
}
