// The native platform's SMTP sink (what Mailpit is in compose): receives mail on SMTP_PORT and
// lists it over HTTP on SMTP_HTTP_PORT in the shape of Mailpit's API, so the demo reads either.
//   GET /api/v1/messages   → { total, messages: [{ ID, MessageID, From, To, Subject, Created, Snippet }] }
//   GET /api/v1/message/:ID → the same plus Text and HTML
//   DELETE /api/v1/messages → forgets everything
// Started by scripts/platform.sh; keeps messages in memory only.
import { createServer } from 'node:http'
import { smtpSink, type ReceivedMail } from './smtp-sink.ts'

const smtpPort = Number(process.env.SMTP_PORT ?? 1025)
const httpPort = Number(process.env.SMTP_HTTP_PORT ?? 8025)
const host = process.env.HOST ?? '127.0.0.1'

const sink = await smtpSink(smtpPort)
const summary = (m: ReceivedMail, i: number) => ({
  ID: String(i + 1),
  MessageID: m.messageId?.replace(/^<|>$/g, '') ?? '',
  From: { Address: m.from },
  To: m.to.map((Address) => ({ Address })),
  Subject: m.subject,
  Created: m.receivedAt.toISOString(),
  Snippet: m.text.replace(/\s+/g, ' ').trim().slice(0, 200)
})

const http = createServer((req, res) => {
  const send = (status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const url = new URL(req.url ?? '/', 'http://sink')
  if (req.method === 'GET' && url.pathname === '/api/v1/messages') {
    const messages = sink.received.map(summary).reverse() // newest first, like Mailpit
    return send(200, { total: messages.length, messages })
  }
  if (req.method === 'DELETE' && url.pathname === '/api/v1/messages') {
    sink.received.length = 0
    return send(200, { ok: true })
  }
  const one = /^\/api\/v1\/message\/(\d+)$/.exec(url.pathname)
  const mail = one ? sink.received[Number(one[1]) - 1] : undefined
  if (req.method === 'GET' && mail)
    return send(200, { ...summary(mail, Number(one![1]) - 1), Text: mail.text, HTML: mail.html })
  if (url.pathname === '/health') return send(200, { status: 'ok' })
  return send(404, { code: 'NOT_FOUND', message: 'no such route' })
})
http.listen(httpPort, host, () => {
  process.stdout.write(
    `smtp sink: SMTP on ${host}:${smtpPort}, messages at http://${host}:${httpPort}/api/v1/messages\n`
  )
})

const stop = () => {
  http.close()
  void sink.stop().then(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
