import type { Attributes, AttributeValue, HrTime, Link } from '@opentelemetry/api'
import type { Resource } from '@opentelemetry/resources'
import type { InstrumentationScope } from '@opentelemetry/core'
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace'

/**
 * OTLP protobuf encoding of spans (opentelemetry-proto `trace/v1`), written field by field into one
 * reusable buffer as each span ends, so a batch waiting for export holds bytes rather than span
 * objects. The bytes equal what `ProtobufTraceSerializer` from `@opentelemetry/otlp-transformer`
 * writes for the same spans (same fields, same order, same defaults written); the tests hold it to
 * that. Why not call that serializer: it serializes a whole batch at export time, when the spans
 * ended up to a second earlier and have left the CPU caches, where it costs twice what it does in
 * a tight loop (bench/README.md), and it allocates its buffers per call, which rules out calling it
 * per span.
 */

// Wire types.
const VARINT = 0
const FIXED64 = 1
const LEN = 2
const FIXED32 = 5

const SPAN_FLAGS_HAS_IS_REMOTE = 0x100
const SPAN_FLAGS_IS_REMOTE = 0x200

/** A growable byte buffer with protobuf writers. Reused: `reset()` keeps its memory. */
export class ProtoWriter {
  buf: Buffer
  pos = 0

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity)
  }

  reset(): void {
    this.pos = 0
  }

  /** The bytes written so far, copied out (the buffer itself is reused). */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos))
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + bytes) size *= 2
    const grown = Buffer.allocUnsafe(size)
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
  }

  tag(field: number, wireType: number): void {
    this.uint32((field << 3) | wireType)
  }

  /** An unsigned varint below 2^32. */
  uint32(value: number): void {
    this.ensure(5)
    let v = value >>> 0
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128
      v >>>= 7
    }
    this.buf[this.pos++] = v
  }

  /** An int64 varint (negative numbers take ten bytes, as protobuf has it). */
  int64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) return this.uint32(value)
    this.ensure(10)
    const magnitude = Math.abs(value)
    let low = magnitude >>> 0
    let high = Math.floor(magnitude / 4294967296) >>> 0
    if (value < 0) {
      // Two's complement of the 64-bit magnitude.
      low = ~low >>> 0
      high = ~high >>> 0
      low = (low + 1) >>> 0
      if (low === 0) high = (high + 1) >>> 0
    }
    while (high > 0 || low > 127) {
      this.buf[this.pos++] = (low & 127) | 128
      low = ((low >>> 7) | (high << 25)) >>> 0
      high >>>= 7
    }
    this.buf[this.pos++] = low
  }

  fixed32(value: number): void {
    this.ensure(4)
    this.word(value >>> 0)
  }

  /** Four little-endian bytes; the caller ensured the room. */
  private word(v: number): void {
    const buf = this.buf
    buf[this.pos] = v
    buf[this.pos + 1] = v >>> 8
    buf[this.pos + 2] = v >>> 16
    buf[this.pos + 3] = v >>> 24
    this.pos += 4
  }

  double(value: number): void {
    this.ensure(8)
    this.buf.writeDoubleLE(value, this.pos)
    this.pos += 8
  }

  /** Nanoseconds since the epoch of an `HrTime` ([seconds, nanoseconds]) as a fixed64. */
  hrTime(time: HrTime): void {
    this.ensure(8)
    const seconds = time[0]
    // seconds × 1e9 exceeds 2^53: multiply the two 16-bit halves of the seconds separately.
    const highPart = Math.floor(seconds / 65536) * 1e9 // × 2^16, below 2^46
    const lowPart = (seconds % 65536) * 1e9 + time[1] // below 2^46
    const low = (highPart % 65536) * 65536 + (lowPart % 4294967296)
    const high =
      Math.floor(highPart / 65536) + Math.floor(lowPart / 4294967296) + Math.floor(low / 4294967296)
    this.word(low >>> 0)
    this.word(high >>> 0)
  }

  /** Appends what another writer holds. */
  append(other: ProtoWriter): void {
    this.ensure(other.pos)
    other.buf.copy(this.buf, this.pos, 0, other.pos)
    this.pos += other.pos
  }

  /** A length-delimited UTF-8 string field. */
  string(field: number, value: string): void {
    this.tag(field, LEN)
    const n = value.length
    if (n < 128) {
      // Short ASCII — nearly every name, key and value — is copied without a native call.
      this.ensure(n + 1)
      const start = this.pos
      let i = 0
      for (; i < n; i++) {
        const c = value.charCodeAt(i)
        if (c > 127) break
        this.buf[start + 1 + i] = c
      }
      if (i === n) {
        this.buf[start] = n
        this.pos = start + 1 + n
        return
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8')
    this.uint32(bytes)
    this.ensure(bytes)
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8')
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, LEN)
    this.uint32(value.length)
    this.ensure(value.length)
    this.buf.set(value, this.pos)
    this.pos += value.length
  }

  /** A bytes field from a hex id (trace and span ids). */
  hexBytes(field: number, hex: string): void {
    const n = hex.length >>> 1
    this.tag(field, LEN)
    this.uint32(n)
    this.ensure(n)
    const buf = this.buf
    let pos = this.pos
    for (let i = 0; i < 2 * n; i += 2)
      buf[pos++] = (HEX[hex.charCodeAt(i)]! << 4) | HEX[hex.charCodeAt(i + 1)]!
    this.pos = pos
  }

  /**
   * Opens an embedded message: reserves one byte for its length and returns where. `end()` writes
   * the length, moving the message when it needs more than one byte.
   */
  begin(field: number): number {
    this.tag(field, LEN)
    this.ensure(1)
    return this.pos++
  }

  end(at: number): void {
    const length = this.pos - at - 1
    if (length < 128) {
      this.buf[at] = length
      return
    }
    const size = varintSize(length)
    this.ensure(size - 1)
    this.buf.copyWithin(at + size, at + 1, this.pos)
    const end = this.pos + size - 1
    this.pos = at
    this.uint32(length)
    this.pos = end
  }
}

/** Hex digit values by character code (0-9, a-f, A-F). */
const HEX = new Uint8Array(128)
for (let c = 0; c < 10; c++) HEX[48 + c] = c
for (let c = 0; c < 6; c++) HEX[97 + c] = HEX[65 + c] = 10 + c

function varintSize(v: number): number {
  return v < 1 << 7 ? 1 : v < 1 << 14 ? 2 : v < 1 << 21 ? 3 : v < 1 << 28 ? 4 : 5
}

const INT64_MIN = -(2 ** 63)
const INT64_MAX = 2 ** 63

/** common.v1.AnyValue */
function writeAnyValue(
  w: ProtoWriter,
  value: AttributeValue | Record<string, unknown> | null | undefined
): void {
  switch (typeof value) {
    case 'string':
      return w.string(1, value)
    case 'boolean':
      w.tag(2, VARINT)
      return w.uint32(value ? 1 : 0)
    case 'number':
      if (Number.isInteger(value) && value >= INT64_MIN && value < INT64_MAX) {
        w.tag(3, VARINT)
        return w.int64(value)
      }
      w.tag(4, FIXED64)
      return w.double(value)
  }
  if (value instanceof Uint8Array) return w.bytes(7, value)
  if (Array.isArray(value)) {
    const array = w.begin(5)
    for (const item of value) {
      const at = w.begin(1)
      writeAnyValue(w, item as AttributeValue)
      w.end(at)
    }
    return w.end(array)
  }
  if (typeof value === 'object' && value !== null) {
    const list = w.begin(6)
    writeKeyValues(w, 1, value as Record<string, AttributeValue>)
    w.end(list)
  }
}

/** repeated common.v1.KeyValue */
function writeKeyValues(
  w: ProtoWriter,
  field: number,
  attributes: Attributes | Record<string, unknown>
): void {
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue
    const kv = w.begin(field)
    w.string(1, key)
    const value = w.begin(2)
    writeAnyValue(w, (attributes as Record<string, AttributeValue>)[key])
    w.end(value)
    w.end(kv)
  }
}

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE | (isRemote ? SPAN_FLAGS_IS_REMOTE : 0)
}

/** trace.v1.Span as field `field` of the enclosing message (ScopeSpans.spans is 2). */
export function writeSpan(w: ProtoWriter, field: number, span: ReadableSpan): void {
  const at = w.begin(field)
  const ctx = span.spanContext()
  w.hexBytes(1, ctx.traceId)
  w.hexBytes(2, ctx.spanId)
  const traceState = ctx.traceState?.serialize()
  if (traceState) w.string(3, traceState)
  const parent = span.parentSpanContext
  if (parent?.spanId) w.hexBytes(4, parent.spanId)
  w.string(5, span.name)
  // SpanKind in the API counts from INTERNAL = 0; in the proto 0 is UNSPECIFIED.
  const kind = span.kind == null ? 0 : span.kind + 1
  if (kind !== 0) {
    w.tag(6, VARINT)
    w.uint32(kind)
  }
  w.tag(7, FIXED64)
  w.hrTime(span.startTime)
  w.tag(8, FIXED64)
  w.hrTime(span.endTime)
  writeKeyValues(w, 9, span.attributes)
  w.tag(10, VARINT)
  w.uint32(span.droppedAttributesCount)
  for (const event of span.events) writeEvent(w, event)
  w.tag(12, VARINT)
  w.uint32(span.droppedEventsCount)
  for (const link of span.links) writeLink(w, link)
  w.tag(14, VARINT)
  w.uint32(span.droppedLinksCount)
  const status = w.begin(15)
  if (span.status.message) w.string(2, span.status.message)
  w.tag(3, VARINT)
  w.uint32(span.status.code)
  w.end(status)
  w.tag(16, FIXED32)
  w.fixed32(spanFlags(ctx.traceFlags, parent?.isRemote))
  w.end(at)
}

/** Span.events (11) */
function writeEvent(w: ProtoWriter, event: TimedEvent): void {
  const at = w.begin(11)
  w.tag(1, FIXED64)
  w.hrTime(event.time)
  w.string(2, event.name)
  if (event.attributes) writeKeyValues(w, 3, event.attributes)
  w.tag(4, VARINT)
  w.uint32(event.droppedAttributesCount ?? 0)
  w.end(at)
}

/** Span.links (13) */
function writeLink(w: ProtoWriter, link: Link): void {
  const at = w.begin(13)
  w.hexBytes(1, link.context.traceId)
  w.hexBytes(2, link.context.spanId)
  const traceState = link.context.traceState?.serialize()
  if (traceState) w.string(3, traceState)
  if (link.attributes) writeKeyValues(w, 4, link.attributes)
  w.tag(5, VARINT)
  w.uint32(link.droppedAttributesCount ?? 0)
  w.tag(6, FIXED32)
  w.fixed32(spanFlags(link.context.traceFlags, link.context.isRemote))
  w.end(at)
}

/** resource.v1.Resource as field `field`. */
export function writeResource(w: ProtoWriter, field: number, resource: Resource): void {
  const at = w.begin(field)
  writeKeyValues(w, 1, resource.attributes)
  w.tag(2, VARINT)
  w.uint32(0)
  w.end(at)
}

/** common.v1.InstrumentationScope as field `field`. */
export function writeScope(w: ProtoWriter, field: number, scope: InstrumentationScope): void {
  const at = w.begin(field)
  w.string(1, scope.name)
  if (scope.version) w.string(2, scope.version)
  const { attributes, droppedAttributesCount } = scope as InstrumentationScope & {
    attributes?: Attributes
    droppedAttributesCount?: number
  }
  if (attributes) writeKeyValues(w, 3, attributes)
  if (droppedAttributesCount) {
    w.tag(4, VARINT)
    w.uint32(droppedAttributesCount)
  }
  w.end(at)
}
