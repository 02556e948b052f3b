// Load beyond what the platform can serve: signed-in catalog reads through the edge (a token per
// simulated user, so no per-user limit applies and the micro-cache is bypassed), open loop with
// vegeta (scripts/setup.sh faults builds it). The capacity is found first, in the same run: the rate
// is raised in steps of 1000/s until the served rate stops growing, and the best goodput seen is
// the capacity. Then 150 % of it is offered: admitted requests must still be served — goodput at least
// 90 % of the capacity — and the rest refused at once with 503/429, not left to time out.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { JWK } from 'jose'
import { signToken } from '../support/story.ts'
import type { Fault } from './injected.ts'

const run = promisify(execFile)

export interface LoadStep {
  offered: number
  goodput: number
  p50Ms: number
  p99Ms: number
  /** p99 of the refusals (429/503), ms: how quickly overload is told. */
  refusedP99Ms: number
  codes: Record<string, number>
}

export interface OverloadReport {
  steps: LoadStep[]
  capacity: number
  /** Rounds of [the capacity offered, 150 % of it offered], back to back. */
  rounds: Array<[LoadStep, LoadStep]>
  /** The median over the rounds of served at 150 % / served at 100 %. */
  ratio: number
  overload: LoadStep
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN

async function attack(targets: string, rate: number, seconds: number, dir: string): Promise<LoadStep> {
  const out = join(dir, `r${rate}.bin`)
  await run('vegeta', [
    'attack',
    `-targets=${targets}`,
    `-rate=${rate}/s`,
    `-duration=${seconds}s`,
    '-timeout=10s',
    '-max-connections=1000',
    '-max-body=0', // the bodies are not looked at: reading and storing them costs the generator CPU the servers share
    `-output=${out}`
  ]).catch((err: Error) => {
    throw new Error(`vegeta failed (built by \`bash scripts/setup.sh faults\`): ${err.message}`)
  })
  const { stdout } = await run('vegeta', ['encode', '--to=csv', out], { maxBuffer: 1 << 30 })
  const ok: number[] = []
  const refused: number[] = []
  const codes: Record<string, number> = {}
  for (const line of stdout.split('\n')) {
    if (!line) continue
    const [, code, latency] = line.split(',', 3).map(Number) as [number, number, number]
    const key = code === 0 ? 'no answer' : String(code)
    codes[key] = (codes[key] ?? 0) + 1
    if (code >= 200 && code < 300) ok.push(latency / 1e6)
    else if (code === 429 || code === 503) refused.push(latency / 1e6)
  }
  ok.sort((a, b) => a - b)
  refused.sort((a, b) => a - b)
  const round = (n: number) => Math.round(n * 10) / 10
  return {
    offered: rate,
    goodput: Math.round(ok.length / seconds),
    p50Ms: round(percentile(ok, 0.5)),
    p99Ms: round(percentile(ok, 0.99)),
    refusedP99Ms: round(percentile(refused, 0.99)),
    codes
  }
}

/** The load as a fault: `report` is filled once it has run. */
export function overload(options: { edge: string; jwk: JWK; products: string[] }): Fault & {
  report?: OverloadReport
} {
  const fault: Fault & { report?: OverloadReport } = {
    async inject() {
      const dir = await mkdtemp(join(tmpdir(), 'overload-'))
      try {
        const targets = join(dir, 'targets')
        const lines: string[] = []
        for (let i = 0; i < 500; i++) {
          const token = await signToken(options.jwk, {
            sub: `faults-load-${i}`,
            exp: Math.floor(Date.now() / 1000) + 3600
          })
          const product = options.products[i % options.products.length]
          lines.push(`GET ${options.edge}/api/v1/products/${product}\nAuthorization: Bearer ${token}\n`)
        }
        await writeFile(targets, lines.join('\n'))
        // Warm-up (JIT, connection pools), then up in steps until the served rate stops growing.
        await attack(targets, 1000, 8, dir)
        const steps: LoadStep[] = []
        let best = 0
        for (let rate = 1000; rate <= 20_000; rate += 1000) {
          const step = await attack(targets, rate, 8, dir)
          steps.push(step)
          if (step.goodput < 1.05 * best) break
          best = Math.max(best, step.goodput)
        }
        const capacity = Math.max(...steps.map((s) => s.goodput))
        // The machine's speed drifts within minutes: each 150 % run is compared with a run at the
        // capacity just before it, and the median of three such ratios is the figure.
        const rounds: Array<[LoadStep, LoadStep]> = []
        for (let i = 0; i < 3; i++)
          rounds.push([
            await attack(targets, capacity, 8, dir),
            await attack(targets, Math.round(1.5 * capacity), 8, dir)
          ])
        const ratios = rounds
          .map(([base, over]) => over.goodput / Math.max(1, base.goodput))
          .sort((a, b) => a - b)
        const median = rounds.map((r) => r[1]).sort((a, b) => a.goodput - b.goodput)[1]!
        fault.report = { steps, capacity, rounds, ratio: ratios[1]!, overload: median }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
    async heal() {},
    figures: () => fault.report,
    async check() {
      const r = fault.report
      if (!r) return [{ name: 'the overload ran', ok: false, detail: 'no report' }]
      const o = r.overload
      const answered = r.rounds.reduce((n, [, over]) => n + (over.codes['no answer'] ?? 0), 0)
      const other = [...new Set(r.rounds.flatMap(([, over]) => Object.keys(over.codes))).values()].filter(
        (c) => c !== 'no answer' && !['200', '429', '503'].includes(c)
      )
      return [
        {
          name: 'at 150 % of capacity, goodput stays ≥ 90 % of it',
          ok: r.ratio >= 0.9,
          detail:
            `capacity ${r.capacity}/s; served at 150 % / at 100 %, median of ${r.rounds.length} rounds: ` +
            `${Math.round(100 * r.ratio)} % (${r.rounds.map(([b, ov]) => `${ov.goodput}/${b.goodput}`).join(', ')}); ` +
            `median round at 150 %: p50 ${o.p50Ms} ms, p99 ${o.p99Ms} ms, refusals p99 ${o.refusedP99Ms} ms, ${JSON.stringify(o.codes)}`
        },
        {
          name: 'under overload every request is answered: served, or refused with 429/503',
          ok: answered === 0 && other.length === 0,
          detail: `${answered} unanswered, other codes: ${other.join(', ') || 'none'}`
        }
      ]
    }
  }
  return fault
}
