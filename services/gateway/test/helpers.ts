import { createHmac, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'
import { stack } from '@platform/testing'
import { buildApp, type AppOptions } from '../src/app.ts'
import { readConfig } from '../src/config.ts'

export const ISSUER = 'https://auth.test'
export const AUDIENCE = 'platform-api'

/** A signing key of the test's identity provider, and its public JWK Set. */
export async function identityProvider(kid = 'k1') {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  const sign = (claims: JWTPayload, options: { exp?: string | number; nbf?: string | number } = {}) =>
    new SignJWT({ roles: ['customer'], ...claims })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(claims.aud ?? AUDIENCE)
      .setSubject(claims.sub ?? 'alice')
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .setNotBefore(options.nbf ?? '0s')
      .sign(privateKey)
  return {
    publicJwk,
    jwks: JSON.stringify({ keys: [publicJwk] }),
    sign,
    privateJwk: await exportJWK(privateKey)
  }
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** A token with `alg: none` (no signature at all). */
export function unsignedToken(claims: JWTPayload): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`
}

/** The classic confusion attack: HS256 keyed with the public key's text. */
export function hmacWithPublicKey(claims: JWTPayload, publicJwk: JWK): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: publicJwk.kid })}.${b64(claims)}`
  const sig = createHmac('sha256', JSON.stringify(publicJwk)).update(input).digest('base64url')
  return `${input}.${sig}`
}

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

/**
 * A real HTTP service standing in for catalog/order/notification: records what reached it and
 * answers with `respond` (JSON by default).
 */
export async function recordingService(t: TestContext) {
  const seen: SeenRequest[] = []
  const state = {
    respond: (req: SeenRequest, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }))
    }
  }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body }
      seen.push(r)
      state.respond(r, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, state }
}

/** A gateway in this process whose three upstreams are `upstreamUrl`. */
export async function gateway(
  t: TestContext,
  upstreamUrl: string,
  env: Record<string, string>,
  options: AppOptions = {}
): Promise<FastifyInstance> {
  const app = await buildApp(
    readConfig({
      LOG_LEVEL: 'error',
      REDIS_URL: `redis://${stack.redis.host}:${stack.redis.port}`,
      CATALOG_URL: upstreamUrl,
      ORDER_URL: upstreamUrl,
      NOTIFICATION_URL: upstreamUrl,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      UPSTREAM_TIMEOUT_MS: '1000',
      // Counters of the test's own in the shared Redis (pass the same one to share them).
      RATE_LIMIT_NAMESPACE: `ratelimit-test-${randomUUID()}:`,
      ...env
    }),
    options
  )
  await app.ready()
  t.after(() => app.close())
  return app
}
