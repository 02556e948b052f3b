import type { Envelope } from '@platform/contracts'

export interface OutgoingMessage {
  topic: string
  /** Partition key: events of one aggregate share it, so they stay in order. */
  key: string
  /** The serialized envelope. */
  value: string
  headers: Record<string, string>
}

export interface IncomingEvent {
  envelope: Envelope
  topic: string
  partition: number
  offset: string
  key: string | undefined
  headers: Record<string, string>
}

export interface SubscribeOptions {
  groupId: string
  topics: string[]
  /** Applies one event. Throwing retries it with backoff; after `maxAttempts` it is dead-lettered. */
  handle: (event: IncomingEvent) => Promise<void>
  /**
   * Optional: applies consecutive events of one partition together (at most `maxBatchSize`, in
   * order), typically in one transaction (`handleBatchOnce`). Should it throw, none of them may
   * have taken effect: they are then applied one by one with `handle` (retries, dead letters), so a
   * poison event still lands alone in the DLQ.
   */
  handleBatch?: (events: IncomingEvent[]) => Promise<void>
  /** Most events given to `handleBatch` at once. Default 100. */
  maxBatchSize?: number
  maxAttempts?: number
  retryBaseMs?: number
  /**
   * Failures that say a dependency is away rather than that the event is bad: retried (backoff up
   * to `maxTransientBackoffMs`, default 5 s) for as long as they last, the partition waiting, and
   * never dead-lettered. Default: `isDependencyUnavailable` of @platform/errors (network errors,
   * a database restarting or out of connections).
   */
  isTransient?: (err: unknown) => boolean
  maxTransientBackoffMs?: number
  /** How often the group's lag is measured from the broker (besides after each batch). Default 10 s. */
  lagIntervalMs?: number
  fromBeginning?: boolean
  /**
   * A consumer that has neither fetched nor heartbeaten for this long is replaced by a new one
   * (as is one kafkajs gave up on). Default 60 s.
   */
  stallMs?: number
  /** Partitions processed side by side (order is kept within each). Default 1. */
  partitionsConcurrently?: number
}

export interface Subscription {
  /** Stops fetching, lets the message in hand finish and commits the offsets of finished ones. */
  stop(): Promise<void>
}

/** What services see of the message broker; `createKafkaBus` is the kafkajs implementation. */
export interface MessageBus {
  publish(messages: OutgoingMessage[]): Promise<void>
  subscribe(options: SubscribeOptions): Promise<Subscription>
  close(): Promise<void>
}
