export interface CheckResult {
  status: 'ok' | 'failed'
  durationMs: number
  error?: string
}

export interface ReadinessReport {
  status: 'ok' | 'unavailable'
  checks: Record<string, CheckResult>
}

export interface Readiness {
  /** A hard dependency: /health/ready fails while `check` rejects or outlives `timeoutMs`. */
  register(
    name: string,
    check: (signal: AbortSignal) => Promise<unknown>,
    options?: { timeoutMs?: number }
  ): void
  report(): Promise<ReadinessReport>
}

/** Runs every check side by side, each with its own timeout; reuses a result for `cacheMs`. */
export function createReadiness(cacheMs: number): Readiness {
  const checks = new Map<string, { run: (signal: AbortSignal) => Promise<unknown>; timeoutMs: number }>()
  let cached: { at: number; report: Promise<ReadinessReport> } | undefined

  async function runOne(name: string): Promise<[string, CheckResult]> {
    const { run, timeoutMs } = checks.get(name)!
    const started = performance.now()
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        run(controller.signal),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            controller.abort()
            reject(new Error(`no answer within ${timeoutMs} ms`))
          }, timeoutMs)
        })
      ])
      return [name, { status: 'ok', durationMs: Math.round(performance.now() - started) }]
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err)
      return [
        name,
        { status: 'failed', durationMs: Math.round(performance.now() - started), error: error.slice(0, 200) }
      ]
    } finally {
      clearTimeout(timer)
    }
  }

  async function evaluate(): Promise<ReadinessReport> {
    const results = Object.fromEntries(await Promise.all([...checks.keys()].map(runOne)))
    const ok = Object.values(results).every((r) => r.status === 'ok')
    return { status: ok ? 'ok' : 'unavailable', checks: results }
  }

  return {
    register(name, check, options = {}) {
      checks.set(name, { run: check, timeoutMs: options.timeoutMs ?? 1000 })
      cached = undefined
    },
    report() {
      const now = Date.now()
      // A concurrent caller shares the evaluation in flight; a finished one is reused for cacheMs.
      if (!cached || now - cached.at >= cacheMs) cached = { at: now, report: evaluate() }
      return cached.report
    }
  }
}
