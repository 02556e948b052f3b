import { setTimeout as sleep } from 'node:timers/promises'
import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaMessage,
  type Producer
} from 'kafkajs'
import { isDependencyUnavailable } from '@platform/errors'
import { consumerMetrics, type Metrics } from '@platform/metrics'
import type { IncomingEvent, MessageBus, OutgoingMessage, SubscribeOptions, Subscription } from './bus.ts'
import { createEventCodec, SchemaViolation, type EventRegistry } from './envelope.ts'
import { quietKafkajsIdleTimer } from './kafkajs-idle-timer.ts'
import { inBatchSpan, inConsumerSpan } from './trace.ts'

quietKafkajsIdleTimer()

interface BatchControl {
  isRunning(): boolean
  isStale(): boolean
  heartbeat(): Promise<void>
}

export interface KafkaBusOptions {
  brokers: string[]
  clientId: string
  metrics: Metrics
  /** The event types its consumers accept: each event is checked against its contract. */
  events: EventRegistry
  /**
   * Put before every topic and consumer group this bus touches (per environment, per test run):
   * producers, handlers and the outbox use the contracts' names, the bus alone knows the prefix.
   */
  topicPrefix?: string
  /** kafkajs's own log lines (connection trouble, rebalances). */
  log?: (level: 'error' | 'warn' | 'info', message: string, extra: Record<string, unknown>) => void
}

const LEVELS: Record<number, 'error' | 'warn' | 'info'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info'
}

function headersOf(message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) out[name] = Array.isArray(value) ? String(value[0]) : String(value)
  }
  return out
}

/**
 * The kafkajs implementation of {@link MessageBus}: an idempotent producer (acks from all
 * replicas), and consumers that validate each event against the contracts, retry a failing handler
 * with backoff, dead-letter what can't be handled to `<topic>.dlq` (with the error and where it came
 * from) and move on, so a partition never stalls on one message.
 */
export function createKafkaBus(options: KafkaBusOptions): MessageBus {
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log
        options.log?.(LEVELS[level] ?? 'info', message, extra)
      }
  })
  const metrics = consumerMetrics(options.metrics.registry)
  const prefix = options.topicPrefix ?? ''
  const codec = createEventCodec(options.events)
  let producer: Producer | undefined
  let connecting: Promise<Producer> | undefined
  const subscriptions = new Set<Subscription>()

  function connectedProducer(): Promise<Producer> {
    if (producer) return Promise.resolve(producer)
    connecting ??= (async () => {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Named explicitly (murmur2 on the key, as the Java client): kafkajs warns when it is left implicit.
        createPartitioner: Partitioners.DefaultPartitioner
      })
      await p.connect()
      producer = p
      return p
    })().finally(() => (connecting = undefined))
    return connecting
  }

  /** Messages to the topics they name, as they are (the prefix is already on them). */
  async function send(messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return
    const byTopic = new Map<string, OutgoingMessage[]>()
    for (const m of messages) {
      const list = byTopic.get(m.topic)
      if (list) list.push(m)
      else byTopic.set(m.topic, [m])
    }
    await (
      await connectedProducer()
    ).sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers as IHeaders }))
      }))
    })
  }

  async function deadLetter(
    topic: string,
    partition: number,
    message: KafkaMessage,
    reason: string,
    error: string,
    attempts: number,
    group: string
  ) {
    await send([
      {
        topic: `${topic}.dlq`,
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        headers: {
          ...headersOf(message),
          'dlq-reason': reason,
          'dlq-error': error.slice(0, 1000),
          'dlq-origin-topic': topic,
          'dlq-origin-partition': String(partition),
          'dlq-origin-offset': message.offset,
          'dlq-attempts': String(attempts),
          'dlq-failed-at': new Date().toISOString(),
          'dlq-group': group
        }
      }
    ])
    metrics.deadLettered.inc({ topic })
  }

  // Auto-creation is off: a consumer of a topic that doesn't exist would wait in the group join
  // forever. Say so at start instead, naming the topics (and their DLQs, which handlers write to).
  // One admin connection for the lag measurements, opened on first use.
  let admin: Admin | undefined
  let adminConnecting: Promise<Admin> | undefined
  function connectedAdmin(): Promise<Admin> {
    if (admin) return Promise.resolve(admin)
    adminConnecting ??= (async () => {
      const a = kafka.admin()
      await a.connect()
      admin = a
      return a
    })().finally(() => (adminConnecting = undefined))
    return adminConnecting
  }

  // Lag measured from the broker (end offsets against the group's committed ones), not only when a
  // batch ends: a consumer stuck on an event, or not running at all, must show its lag growing.
  async function measureLag(groupId: string, topics: string[]): Promise<void> {
    const a = await connectedAdmin()
    const committed = await a.fetchOffsets({ groupId, topics })
    for (const { topic, partitions } of committed) {
      const ends = new Map((await a.fetchTopicOffsets(topic)).map((p) => [p.partition, p]))
      for (const { partition, offset } of partitions) {
        const end = ends.get(partition)
        if (!end) continue
        const from = Number(offset) < 0 ? Number(end.low) : Number(offset)
        metrics.lag.set(
          { group: groupId, topic, partition: String(partition) },
          Math.max(0, Number(end.high) - from)
        )
      }
    }
  }

  async function assertTopicsExist(topics: string[]): Promise<void> {
    const admin = kafka.admin()
    await admin.connect()
    try {
      const existing = new Set(await admin.listTopics())
      const missing = topics.flatMap((t) => [t, `${t}.dlq`]).filter((t) => !existing.has(t))
      if (missing.length > 0)
        throw new Error(
          `Kafka topics missing: ${missing.join(', ')} (auto-creation is off; create them, e.g. from deploy/kafka/topics.json)`
        )
    } finally {
      await admin.disconnect()
    }
  }

  async function publish(messages: OutgoingMessage[]): Promise<void> {
    await send(prefix ? messages.map((m) => ({ ...m, topic: prefix + m.topic })) : messages)
  }

  async function subscribe(named: SubscribeOptions): Promise<Subscription> {
    const spec = { ...named, groupId: prefix + named.groupId, topics: named.topics.map((t) => prefix + t) }
    await assertTopicsExist(spec.topics)
    const maxAttempts = spec.maxAttempts ?? 3
    const retryBaseMs = spec.retryBaseMs ?? 200
    const maxBatchSize = spec.maxBatchSize ?? 100
    // Counted from 0, so an alert on increase() sees the first dead letter too.
    for (const topic of spec.topics) metrics.deadLettered.inc({ topic }, 0)
    const isTransient = spec.isTransient ?? isDependencyUnavailable
    const maxTransientBackoffMs = spec.maxTransientBackoffMs ?? 5000

    // One message: retried with backoff, dead-lettered when it can't be applied. A failure that says
    // a dependency is away (the database restarting) is not the event's fault: it is retried for as
    // long as it lasts, the partition waiting, and never dead-lettered. False when the consumer
    // stopped or lost the partition meanwhile: the message is left for the next owner.
    async function handleOne(
      event: IncomingEvent,
      message: KafkaMessage,
      batch: BatchControl
    ): Promise<boolean> {
      let transient = 0
      for (let attempt = 1; ; attempt++) {
        try {
          await inConsumerSpan(event.topic, event.headers, () => spec.handle(event))
          return true
        } catch (err) {
          if (!(err instanceof SchemaViolation) && isTransient(err)) {
            attempt-- // not the event's fault: it doesn't count towards maxAttempts
            transient++
            metrics.transientRetries.inc({ topic: event.topic })
            if (transient === 1 || transient % 20 === 0) {
              options.log?.('warn', 'a dependency is away; retrying the event until it is back', {
                topic: event.topic,
                partition: event.partition,
                offset: message.offset,
                retries: transient,
                error: (err as Error).message
              })
            }
            await sleep(
              Math.min(maxTransientBackoffMs, retryBaseMs * 2 ** Math.min(transient, 10)) *
                (0.5 + Math.random() / 2)
            )
            if (!batch.isRunning() || batch.isStale()) return false
            await batch.heartbeat().catch(() => undefined)
            continue
          }
          if (err instanceof SchemaViolation || attempt >= maxAttempts) {
            await deadLetter(
              event.topic,
              event.partition,
              message,
              err instanceof SchemaViolation ? 'schema' : 'handler',
              (err as Error).message,
              attempt,
              spec.groupId
            )
            return true
          }
          await sleep(Math.random() * retryBaseMs * 2 ** (attempt - 1))
        }
      }
    }

    // Consecutive decoded events of one partition: together through handleBatch when there is
    // more than one, else (or when the batch fails) one by one.
    // The number of events of `run` handled, from its start (fewer when the consumer stopped).
    async function handleRun(
      run: Array<{ event: IncomingEvent; message: KafkaMessage }>,
      batch: BatchControl
    ): Promise<number> {
      if (run.length > 1 && spec.handleBatch) {
        const events = run.map((r) => r.event)
        try {
          await inBatchSpan(events[0]!.topic, events, () => spec.handleBatch!(events))
          return run.length
        } catch (err) {
          metrics.batchFallbacks.inc({ topic: events[0]!.topic })
          options.log?.('warn', 'batch failed; handling its events one by one', {
            topic: events[0]!.topic,
            partition: events[0]!.partition,
            events: events.length,
            error: (err as Error).message
          })
        }
      }
      let handled = 0
      for (const { event, message } of run) {
        if (!(await handleOne(event, message, batch))) break
        handled++
      }
      return handled
    }

    const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      const { topic, partition } = batch
      const control: BatchControl = { isRunning, isStale, heartbeat }
      let run: Array<{ event: IncomingEvent; message: KafkaMessage }> = []
      let abandoned = false
      const flush = async () => {
        if (run.length === 0 || abandoned) return
        const handled = await handleRun(run, control)
        if (handled > 0) resolveOffset(run[handled - 1]!.message.offset)
        abandoned = handled < run.length
        run = []
        if (!abandoned) await heartbeat()
      }
      for (const message of batch.messages) {
        // Stopping or rebalanced away: what is not resolved is fetched again by the next owner.
        if (!isRunning() || isStale() || abandoned) return
        let event: IncomingEvent
        try {
          event = {
            envelope: codec.decode(message.value),
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString(),
            headers: headersOf(message)
          }
        } catch (err) {
          // Not retryable: the same bytes will never become valid. Earlier events go first.
          await flush()
          if (abandoned) return
          await deadLetter(topic, partition, message, 'schema', (err as Error).message, 0, spec.groupId)
          resolveOffset(message.offset)
          continue
        }
        run.push({ event, message })
        if (run.length >= maxBatchSize) await flush()
      }
      await flush()
    }

    // kafkajs restarts a consumer after most failures, but gives up after some (a crash it deems
    // fatal) and has been seen to stop fetching without one. Either way the group's events would
    // wait for the process to restart: the consumer is replaced by a new one instead, retried with
    // backoff while Kafka is away. Stalled: no fetch, heartbeat, join, rebalance or restart by kafkajs
    // for `stallMs`.
    const stallMs = spec.stallMs ?? 60_000
    let current!: Consumer // set by the first startConsumer(), before anything reads it
    let lastSign = Date.now()
    let replacing: Promise<void> | undefined
    let stopped = false
    const halt = new AbortController()

    // A fetch waits at most 1 s for data (it returns as soon as any arrives): stopping waits for it.
    // A member that died without leaving holds its partitions until its session expires: 10 s
    // (kafkajs's default is 30 s), so a crashed instance's partitions move on quickly and its
    // restart joins quickly.
    async function startConsumer(): Promise<void> {
      const consumer = kafka.consumer({
        groupId: spec.groupId,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: 1000,
        sessionTimeout: 10_000,
        heartbeatInterval: 2_000
      })
      current = consumer
      lastSign = Date.now()
      const { END_BATCH_PROCESS, FETCH_START, HEARTBEAT, GROUP_JOIN, REBALANCING, CRASH } = consumer.events
      consumer.on(END_BATCH_PROCESS, ({ payload }) => {
        lastSign = Date.now()
        metrics.lag.set(
          { group: spec.groupId, topic: payload.topic, partition: String(payload.partition) },
          Number(payload.offsetLag)
        )
      })
      // A consumer disconnected while it was still joining can be restarted by kafkajs afterwards
      // (its join fails, and the crash handler schedules a restart): one that is no longer ours
      // and shows life is disconnected again, after kafkajs has set that restart.
      const retired = () => stopped || consumer !== current
      const retire = () => setImmediate(() => void consumer.disconnect().catch(() => undefined))
      for (const sign of [FETCH_START, HEARTBEAT, GROUP_JOIN, REBALANCING])
        consumer.on(sign, () => (retired() ? retire() : (lastSign = Date.now())))
      consumer.on(CRASH, ({ payload }) => {
        if (retired()) retire()
        else if (!payload.restart) replace(consumer, 'crashed', payload.error.message)
        else lastSign = Date.now() // kafkajs restarts it (Kafka away): not stalled
      })
      try {
        await consumer.connect()
        await consumer.subscribe({ topics: spec.topics, fromBeginning: spec.fromBeginning ?? false })
        await consumer.run({
          partitionsConsumedConcurrently: spec.partitionsConcurrently ?? 1,
          eachBatchAutoResolve: false,
          eachBatch
        })
      } catch (err) {
        await consumer.disconnect().catch(() => undefined)
        throw err
      }
    }

    function replace(consumer: Consumer, reason: 'crashed' | 'stalled', detail: string): void {
      if (stopped || replacing || consumer !== current) return
      metrics.replaced.inc({ group: spec.groupId, reason })
      options.log?.('warn', 'replacing the Kafka consumer', { group: spec.groupId, reason, detail })
      replacing = (async () => {
        await consumer.disconnect().catch(() => undefined)
        for (let attempt = 0; !stopped; attempt++) {
          try {
            await startConsumer()
            return
          } catch (err) {
            options.log?.('warn', 'the new Kafka consumer could not start; trying again', {
              group: spec.groupId,
              error: (err as Error).message
            })
            await sleep(Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)), undefined, {
              signal: halt.signal
            }).catch(() => undefined)
          }
        }
      })().finally(() => {
        replacing = undefined
        lastSign = Date.now()
      })
    }

    await startConsumer()
    const watchdog = setInterval(
      () => {
        const quiet = Date.now() - lastSign
        if (quiet > stallMs) replace(current, 'stalled', `no sign of life for ${Math.round(quiet / 1000)} s`)
      },
      Math.max(100, stallMs / 4)
    )
    watchdog.unref()
    const lagTimer = setInterval(
      () => void measureLag(spec.groupId, spec.topics).catch(() => undefined), // Kafka away: next round
      spec.lagIntervalMs ?? 10_000
    )
    lagTimer.unref()
    const subscription: Subscription = {
      async stop() {
        stopped = true
        halt.abort()
        subscriptions.delete(subscription)
        clearInterval(lagTimer)
        clearInterval(watchdog)
        await replacing
        // kafkajs waits for the message in hand, then commits the offsets of finished messages.
        await current.disconnect()
      }
    }
    subscriptions.add(subscription)
    return subscription
  }

  return {
    publish,
    subscribe,
    async close() {
      await Promise.all([...subscriptions].map((s) => s.stop()))
      await admin?.disconnect()
      admin = undefined
      await producer?.disconnect()
      producer = undefined
    }
  }
}
