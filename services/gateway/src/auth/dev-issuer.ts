import { createHash, timingSafeEqual } from 'node:crypto'
import { importJWK, SignJWT, type JWK } from 'jose'

/** The seeded demo users the development issuer knows. Never used unless the issuer is configured. */
export const DEMO_USERS: Record<string, { roles: string[] }> = {
  alice: { roles: ['customer'] },
  bob: { roles: ['customer'] },
  admin: { roles: ['customer', 'admin'] }
}

export interface DevIssuerOptions {
  /** A private JWK (EC P-256 / ES256 recommended) with a `kid`. */
  privateJwk: JWK
  password: string
  issuer: string
  audience: string
  ttlSeconds: number
}

export interface DevIssuer {
  /** The public half, added to the keys tokens are verified against. */
  publicJwk: JWK
  /** A signed token for a demo user, or undefined when the name or password is wrong. */
  issue(username: string, password: string): Promise<{ token: string; expiresIn: number } | undefined>
}

const PRIVATE_PARTS = ['d', 'p', 'q', 'dp', 'dq', 'qi']
const digest = (s: string) => createHash('sha256').update(s).digest()

/** A development token issuer: signs short-lived tokens for the demo users with a configured key. */
export async function createDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const alg = options.privateJwk.alg ?? 'ES256'
  const kid = options.privateJwk.kid ?? 'dev'
  const key = await importJWK(options.privateJwk, alg)
  const publicJwk = Object.fromEntries(
    Object.entries(options.privateJwk).filter(([k]) => !PRIVATE_PARTS.includes(k))
  ) as JWK
  const expected = digest(options.password)
  return {
    publicJwk: { ...publicJwk, alg, kid, use: 'sig' },
    async issue(username, password) {
      const user = Object.hasOwn(DEMO_USERS, username) ? DEMO_USERS[username] : undefined
      // Compared in constant time, and the same work whether the user exists or not.
      const ok = timingSafeEqual(digest(password), expected)
      if (!user || !ok) return undefined
      const token = await new SignJWT({ roles: user.roles })
        .setProtectedHeader({ alg, kid, typ: 'JWT' })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(username)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime(`${options.ttlSeconds}s`)
        .sign(key)
      return { token, expiresIn: options.ttlSeconds }
    }
  }
}
