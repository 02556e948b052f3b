export {
  createUpstream,
  type Upstream,
  type UpstreamOptions,
  type UpstreamRequest,
  type UpstreamResponse,
  type UpstreamStream
} from './upstream.ts'
export { UpstreamUnavailableError, type UnavailableReason } from './errors.ts'
export {
  backoffDelay,
  createRetryBudget,
  isIdempotent,
  type RetryBudget,
  type RetryBudgetOptions
} from './retry.ts'
