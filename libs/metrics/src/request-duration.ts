import type { Metric, Registry } from 'prom-client'

export type RequestLabels = { method: string; route: string; status_class: string }

interface Series {
  labels: RequestLabels
  /** Observations per bucket (not cumulative); the last slot is above the largest bound. */
  counts: Float64Array
  sum: number
  count: number
}

interface Sample {
  labels: Record<string, string | number>
  value: number
  metricName: string
}

/**
 * `http_request_duration_seconds{method,route,status_class}`, recorded on every request, so it is
 * built for that one call: `record()` finds its series with two map lookups and an array index and
 * adds to a bucket array. prom-client's Histogram validates and hashes the label object on every
 * observation, a few per cent of a hello-world request's CPU (bench/README.md has the figures).
 *
 * It takes part in a prom-client registry as any metric does: the registry reads it through `get()`
 * (the shape every prom-client metric returns and `registry.getMetricsAsJSON()` exposes) and clears
 * it with `reset()`. Its exposition is the same as a prom-client Histogram's with the same
 * observations (tested).
 */
export class RequestDurationHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #bounds: readonly number[]
  // route → method → series by status class (index = status code / 100)
  #series = new Map<string, Map<string, Array<Series | undefined>>>()

  constructor(options: { name: string; help: string; buckets: readonly number[] }) {
    const bounds = [...options.buckets].sort((a, b) => a - b)
    if (bounds.some((b, i) => !Number.isFinite(b) || b === bounds[i - 1]))
      throw new Error(`buckets must be distinct finite numbers: ${options.buckets.join(', ')}`)
    this.name = options.name
    this.help = options.help
    this.#bounds = bounds
  }

  /** One request: its method, route template, status code and duration in seconds. */
  record(method: string, route: string, statusCode: number, seconds: number): void {
    let byMethod = this.#series.get(route)
    if (byMethod === undefined) this.#series.set(route, (byMethod = new Map()))
    let byClass = byMethod.get(method)
    if (byClass === undefined) byMethod.set(method, (byClass = []))
    const statusIndex = Math.min(9, Math.max(0, Math.floor(statusCode / 100)))
    const series = (byClass[statusIndex] ??= {
      labels: { method, route, status_class: `${statusIndex}xx` },
      counts: new Float64Array(this.#bounds.length + 1),
      sum: 0,
      count: 0
    })
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && seconds > bounds[i]!) i++
    series.counts[i]! += 1
    series.sum += seconds
    series.count += 1
  }

  /** The same with labels, as prom-client's `observe(labels, value)`. */
  observe(labels: RequestLabels, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`not a duration: ${seconds}`)
    const statusIndex = /^([0-9])xx$/.exec(labels.status_class)?.[1]
    if (statusIndex === undefined) throw new TypeError(`not a status class: ${labels.status_class}`)
    this.record(labels.method, labels.route, Number(statusIndex) * 100, seconds)
  }

  /** The metric as prom-client's registry reads every metric (`_bucket`, `_sum`, `_count` samples). */
  async get(): Promise<{
    name: string
    help: string
    type: 'histogram'
    aggregator: 'sum'
    values: Sample[]
  }> {
    const values: Sample[] = []
    const bucket = `${this.name}_bucket`
    for (const byMethod of this.#series.values())
      for (const byClass of byMethod.values())
        for (const series of byClass) {
          if (series === undefined) continue
          let cumulative = 0
          this.#bounds.forEach((le, i) => {
            cumulative += series.counts[i]!
            values.push({ labels: { ...series.labels, le }, value: cumulative, metricName: bucket })
          })
          values.push({ labels: { ...series.labels, le: '+Inf' }, value: series.count, metricName: bucket })
          values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` })
          values.push({ labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` })
        }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    this.#series = new Map()
  }

  /** Adds it to `registry` (which reads it through `get()` and `reset()` only). */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric)
    return this
  }
}
