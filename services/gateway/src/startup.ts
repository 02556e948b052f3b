// For the entry points (server, migrate): fail at start with one line that says what is
// wrong, not a stack trace from ten calls down.
import { ConfigError } from '@platform/config'

function describe(err: unknown): string {
  if (err instanceof ConfigError) return err.message
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; errors?: unknown[] }
  if (e.code && e.address) return `cannot reach ${e.address}:${e.port} (${e.code})`
  if (Array.isArray(e.errors) && e.errors.length > 0) return describe(e.errors[0]) // AggregateError of a dual-stack connect
  return e.message ?? String(err)
}

/** Runs `step`; on failure prints `what: <reason>` and exits with code 1. */
export async function orExit<T>(what: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    process.stderr.write(`${what}: ${describe(err)}\n`)
    process.exit(1)
  }
}
