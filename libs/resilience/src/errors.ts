import { UnavailableError } from '@platform/errors'

export type UnavailableReason = 'circuit_open' | 'timeout' | 'unreachable' | 'busy' | 'no_instance'

const CODES: Record<UnavailableReason, string> = {
  circuit_open: 'CIRCUIT_OPEN',
  timeout: 'UPSTREAM_TIMEOUT',
  unreachable: 'UPSTREAM_UNREACHABLE',
  busy: 'UPSTREAM_BUSY',
  no_instance: 'NO_HEALTHY_INSTANCE'
}

/** An upstream can't answer now. The HTTP kit answers it with 503 and Retry-After. */
export class UpstreamUnavailableError extends UnavailableError {
  readonly upstream: string
  readonly reason: UnavailableReason

  constructor(upstream: string, reason: UnavailableReason, retryAfterSeconds: number, cause?: unknown) {
    super(CODES[reason], `${upstream} is unavailable (${reason.replace('_', ' ')})`, retryAfterSeconds, {
      cause
    })
    this.upstream = upstream
    this.reason = reason
  }
}
