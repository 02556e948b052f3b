import nodemailer, { type Transporter } from 'nodemailer'

/**
 * A pooled SMTP transport from a URL: `smtp://host:port` (STARTTLS when offered) or
 * `smtps://user:password@host:port` (TLS from the start). Timeouts bound every step, so an
 * unreachable or silent server fails an attempt instead of holding it.
 */
export function smtpTransport(url: string, timeoutMs: number): Transporter {
  const u = new URL(url)
  const secure = u.protocol === 'smtps:'
  return nodemailer.createTransport({
    pool: true,
    maxConnections: 2,
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username
      ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }
      : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs
  })
}
