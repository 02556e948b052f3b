import type { FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '@platform/errors'
import { InvalidToken, type Principal } from './jwt.ts'

/** Who may call a route: anyone, an authenticated user, or a user with the admin role. */
export type Access = 'public' | 'user' | 'admin'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller, when the request carried a valid bearer token. */
    principal?: Principal
  }
}

const REALM = 'Bearer realm="platform"'

function unauthenticated(reply: FastifyReply, description?: string): AppError {
  // RFC 6750: no error attribute when no token was sent; invalid_token when one was refused.
  reply.header(
    'www-authenticate',
    description ? `${REALM}, error="invalid_token", error_description="${description}"` : REALM
  )
  return new AppError(401, 'UNAUTHENTICATED', description ?? 'a bearer token is required')
}

/**
 * The gateway's authentication step for one route: a token, when sent, must be valid on any route
 * (so a client learns its token is bad); `user` and `admin` routes require one. A refused request
 * never reaches a service.
 */
export function authenticate(verify: (token: string) => Promise<Principal>, access: Access) {
  return async function onRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization
    if (header === undefined) {
      if (access !== 'public') throw unauthenticated(reply)
      return
    }
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header)
    if (!match) throw unauthenticated(reply, 'the Authorization header must be "Bearer <token>"')
    try {
      request.principal = await verify(match[1]!)
    } catch (err) {
      if (err instanceof InvalidToken) throw unauthenticated(reply, err.message)
      throw err
    }
    if (access === 'admin' && !request.principal.roles.includes('admin'))
      throw new AppError(403, 'FORBIDDEN', 'the admin role is required')
  }
}
