import type { FastifyRequest } from 'fastify'
import { AppError } from '@platform/errors'

/** Identity headers the gateway sets after verifying a caller's token; services trust only these. */
export const USER_HEADER = 'x-user-id'
export const ROLES_HEADER = 'x-user-roles'

export interface Caller {
  id: string
  roles: string[]
}

/** The caller the gateway authenticated; 401 `UNAUTHENTICATED` when there is none. */
export function callerOf(request: FastifyRequest): Caller {
  const id = request.headers[USER_HEADER]
  if (typeof id !== 'string' || id.length === 0 || id.length > 128)
    throw new AppError(401, 'UNAUTHENTICATED', 'authentication required')
  const roles = String(request.headers[ROLES_HEADER] ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
  return { id, roles }
}

/** The caller, who must hold `role`: 401 without a caller, 403 `FORBIDDEN` without the role. */
export function requireRole(request: FastifyRequest, role: string): Caller {
  const caller = callerOf(request)
  if (!caller.roles.includes(role)) throw new AppError(403, 'FORBIDDEN', `the ${role} role is required`)
  return caller
}
