import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey
} from 'jose'

/** Signature algorithms a token may use: asymmetric only — never `none`, never HMAC with a public key. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519'
] as const

export interface VerifierOptions {
  /** Keys configured locally (a JWK Set), tried first. */
  jwks?: JSONWebKeySet
  /** An identity provider's JWKS endpoint, fetched and cached (kids it doesn't know are re-fetched). */
  jwksUrl?: string
  algorithms: string[]
  issuer: string
  audience: string
  clockToleranceSeconds: number
}

export interface Principal {
  id: string
  roles: string[]
}

/** Why a token was refused: a short reason for `WWW-Authenticate`'s error_description. */
export class InvalidToken extends Error {
  override name = 'InvalidToken'
}

function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired'
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'the token is not valid yet'
    if (err.claim === 'iss') return 'the token is from an unexpected issuer'
    if (err.claim === 'aud') return 'the token is for another audience'
    return `the token's ${err.claim} claim is invalid`
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm not allowed'
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid'
  if (err instanceof errors.JWKSNoMatchingKey) return 'the token is signed with an unknown key'
  return 'the token is malformed'
}

/**
 * Verifies bearer tokens: signature against the configured keys (local JWK Set, then a JWKS URL),
 * an algorithm allow-list, `iss`, `aud`, `exp` and `nbf` with a small clock skew, and a subject.
 * The caller's roles come from the `roles` claim (an array of strings).
 */
export function createVerifier(options: VerifierOptions): (token: string) => Promise<Principal> {
  const bad = options.algorithms.filter((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a))
  if (bad.length > 0) throw new Error(`algorithms not allowed for verification: ${bad.join(', ')}`)
  const local = options.jwks ? createLocalJWKSet(options.jwks) : undefined
  const remote = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 2000, cooldownDuration: 30_000 })
    : undefined
  if (!local && !remote) throw new Error('no verification keys: configure a JWK Set or a JWKS URL')
  const keys: JWTVerifyGetKey = async (header, token) => {
    if (local) {
      try {
        return await local(header, token)
      } catch (err) {
        if (!remote || !(err instanceof errors.JWKSNoMatchingKey)) throw err
      }
    }
    return remote!(header, token)
  }

  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: options.algorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSeconds,
        requiredClaims: ['exp', 'sub']
      })
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r) => typeof r === 'string') : []
      const sub = payload.sub!
      if (sub.length > 128 || /[\s,]/.test(sub))
        throw new InvalidToken('the token subject is not a valid user id')
      return { id: sub, roles }
    } catch (err) {
      if (err instanceof InvalidToken) throw err
      throw new InvalidToken(reason(err), { cause: err })
    }
  }
}
