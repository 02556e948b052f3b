// The operations console's view of the platform (the gateway's admin routes): one definition,
// shared by the gateway that answers it and the web app that shows it.
import Type, { type Static } from 'typebox'

const Figure = Type.Union([Type.Number(), Type.Null()], { description: 'null when Prometheus has no answer' })

export const InstanceSchema = Type.Object({
  id: Type.String(),
  address: Type.String({ description: 'host:port' }),
  /** The worst of its Consul checks. */
  health: Type.Union([Type.Literal('passing'), Type.Literal('warning'), Type.Literal('critical')])
})
export type Instance = Static<typeof InstanceSchema>

export const BreakerSchema = Type.Object({
  upstream: Type.String(),
  state: Type.Union([Type.Literal('closed'), Type.Literal('half_open'), Type.Literal('open')], {
    description: 'the worst state among the instances calling it'
  })
})
export type Breaker = Static<typeof BreakerSchema>

export const ServiceStatusSchema = Type.Object({
  name: Type.String(),
  instances: Type.Array(InstanceSchema),
  requestsPerSecond: Figure,
  /** Share of answers that were 5xx over the last minute. */
  errorRatio: Figure,
  p99Seconds: Figure,
  breakers: Type.Array(BreakerSchema),
  consumerLag: Figure,
  outboxBacklog: Figure,
  deadLettered15m: Figure
})
export type ServiceStatus = Static<typeof ServiceStatusSchema>

export const LinkSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  kind: Type.Union([Type.Literal('http'), Type.Literal('event')]),
  topic: Type.Optional(Type.String())
})
export type Link = Static<typeof LinkSchema>

export const AlertSchema = Type.Object({
  name: Type.String(),
  state: Type.Union([Type.Literal('firing'), Type.Literal('pending')]),
  severity: Type.String(),
  summary: Type.String(),
  activeAt: Type.Union([Type.String(), Type.Null()]),
  labels: Type.Record(Type.String(), Type.String())
})
export type Alert = Static<typeof AlertSchema>

export const OverviewSchema = Type.Object({
  services: Type.Array(ServiceStatusSchema),
  links: Type.Array(LinkSchema),
  alerts: Type.Array(AlertSchema),
  /** Which sources answered: the console says what it could not read instead of showing zeros. */
  sources: Type.Object({ consul: Type.Boolean(), prometheus: Type.Boolean() }),
  generatedAt: Type.String({ format: 'date-time' })
})
export type Overview = Static<typeof OverviewSchema>

export const DeadLetterSchema = Type.Object({
  dlq: Type.String(),
  partition: Type.Integer(),
  offset: Type.String(),
  key: Type.String(),
  value: Type.String({ description: 'the message as it was consumed' }),
  reason: Type.String({ description: 'schema or handler' }),
  error: Type.String(),
  originTopic: Type.String(),
  group: Type.Optional(Type.String({ description: 'the consumer group that gave up on it' })),
  attempts: Type.Integer(),
  failedAt: Type.String(),
  type: Type.Optional(Type.String()),
  id: Type.Optional(Type.String()),
  replayed: Type.Boolean({ description: 'already put back on its topic' })
})
export type DeadLetterView = Static<typeof DeadLetterSchema>

export const DeadLetterListSchema = Type.Object({
  items: Type.Array(DeadLetterSchema, { description: 'newest first, at most `limit`' }),
  /** Every letter of the service's DLQs that matched, and how many of them are not replayed yet. */
  total: Type.Integer(),
  pending: Type.Integer()
})

export const DeadLetterQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    /** Only letters whose key or event id is this (an order's id, an event's id). */
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    pending: Type.Optional(Type.Boolean({ description: 'only those not replayed yet' }))
  },
  { additionalProperties: false }
)
export type DeadLetterList = Static<typeof DeadLetterListSchema>
