export {
  createEventCodec,
  SchemaViolation,
  type CreateEnvelopeOptions,
  type EventCodec,
  type EventRegistry
} from './envelope.ts'
export type { IncomingEvent, MessageBus, OutgoingMessage, Subscription, SubscribeOptions } from './bus.ts'
export { createKafkaBus, type KafkaBusOptions } from './kafka-bus.ts'
export {
  createOutboxRelay,
  enqueue,
  enqueueAll,
  messagingMigrationsDir,
  OUTBOX_CHANNEL,
  withOutbox,
  type OutboxRelay,
  type OutboxRelayOptions
} from './outbox.ts'
export { handleBatchOnce, handleOnce, pruneInbox } from './inbox.ts'
export { messaging, type MessagingPluginOptions } from './plugin.ts'
export { deadLetterAdmin, type DeadLetterAdminOptions } from './admin-routes.ts'
export {
  listDeadLetters,
  replayDeadLetters,
  REPLAY_GROUP,
  type DeadLetter,
  type DeadLetterOptions
} from './dead-letters.ts'
