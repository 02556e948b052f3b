import type { Access } from '../auth/authenticate.ts'

/**
 * A public route prefix of a service the route table doesn't list (from its manifest): every
 * method on the prefix and below it goes to the service, the prefix's `/api/v1` taken off.
 */
export interface ServiceRoute {
  service: string
  prefix: string
  access: Access
  /** Its answers may be event streams: passed through unbuffered, not counted as in flight. */
  stream: boolean
}
