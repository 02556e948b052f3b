// Reads an OTLP/HTTP protobuf ExportTraceServiceRequest back into the few fields the tests assert
// on. A plain protobuf wire-format reader plus the field numbers of opentelemetry-proto's trace/v1;
// that the encoding itself is right is tested byte for byte against the SDK's own serializer.

type Field = number | Buffer

/** Fields of one message by number, in order (varints as numbers, fixed64 as low 32 bits + high). */
function fields(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>()
  let pos = 0
  const varint = () => {
    let value = 0
    let shift = 0
    for (;;) {
      const byte = buf[pos++]!
      value += (byte & 127) * 2 ** shift
      if (byte < 128) return value
      shift += 7
    }
  }
  while (pos < buf.length) {
    const key = varint()
    const field = Math.floor(key / 8)
    let value: Field
    switch (key & 7) {
      case 0:
        value = varint()
        break
      case 1:
        value = buf.subarray(pos, (pos += 8))
        break
      case 2: {
        const length = varint()
        value = buf.subarray(pos, (pos += length))
        break
      }
      case 5:
        value = buf.readUInt32LE(pos)
        pos += 4
        break
      default:
        throw new Error(`unexpected wire type ${key & 7} at ${pos}`)
    }
    out.set(field, [...(out.get(field) ?? []), value])
  }
  return out
}

const messages = (m: Map<number, Field[]>, field: number) =>
  (m.get(field) ?? []).map((b) => fields(b as Buffer))
const text = (m: Map<number, Field[]>, field: number) =>
  (m.get(field)?.[0] as Buffer | undefined)?.toString('utf8')

export interface DecodedSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  attributes: Record<string, string | number | boolean | undefined>
}

export interface DecodedResourceSpans {
  resource: Record<string, string | undefined>
  scopes: Array<{ name: string; spans: DecodedSpan[] }>
}

function attributes(kvs: Array<Map<number, Field[]>>): DecodedSpan['attributes'] {
  const out: DecodedSpan['attributes'] = {}
  for (const kv of kvs) {
    const value = messages(kv, 2)[0]
    out[text(kv, 1)!] = value?.has(1)
      ? text(value, 1)
      : value?.has(2)
        ? value.get(2)![0] === 1
        : (value?.get(3)?.[0] as number | undefined)
  }
  return out
}

export function decodeTraceRequest(body: Buffer): DecodedResourceSpans[] {
  return messages(fields(body), 1).map((resourceSpans) => ({
    resource: attributes(messages(messages(resourceSpans, 1)[0]!, 1)) as Record<string, string | undefined>,
    scopes: messages(resourceSpans, 2).map((scopeSpans) => ({
      name: text(messages(scopeSpans, 1)[0]!, 1)!,
      spans: messages(scopeSpans, 2).map((span) => ({
        traceId: (span.get(1)![0] as Buffer).toString('hex'),
        spanId: (span.get(2)![0] as Buffer).toString('hex'),
        ...(span.has(4) ? { parentSpanId: (span.get(4)![0] as Buffer).toString('hex') } : {}),
        name: text(span, 5)!,
        kind: (span.get(6)?.[0] as number | undefined) ?? 0,
        attributes: attributes(messages(span, 9))
      }))
    }))
  }))
}

/** Every span of a request, flattened. */
export function decodeSpans(body: Buffer): DecodedSpan[] {
  return decodeTraceRequest(body).flatMap((r) => r.scopes.flatMap((s) => s.spans))
}
