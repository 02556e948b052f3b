import { readFileSync } from 'node:fs'
import type { Static, TObject } from 'typebox'
import Value from 'typebox/value'

export interface ConfigIssue {
  variable: string
  problem: string
}

/** One error naming every missing or invalid variable, so a bad deploy is fixed in one go. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[]

  constructor(issues: ConfigIssue[]) {
    super(
      `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.variable}: ${i.problem}`).join('\n')
    )
    this.name = 'ConfigError'
    this.issues = issues
  }
}

export interface ReadConfigOptions {
  /** Reads a `NAME_FILE` secret; injectable for tests. Defaults to the file system. */
  readFile?: (path: string) => string
}

// Values of these variables never appear in error messages.
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE/i

/**
 * Reads the variables named by `schema` from `env`: `NAME_FILE` supplies a secret from a file when
 * `NAME` is unset, strings are converted to the schema's types, defaults are applied, and anything
 * missing or invalid is reported at once in a {@link ConfigError}. Unknown variables are ignored.
 */
export function readConfig<S extends TObject>(
  schema: S,
  env: Record<string, string | undefined>,
  options: ReadConfigOptions = {}
): Static<S> {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
  const issues: ConfigIssue[] = []
  const raw: Record<string, string> = {}

  for (const name of Object.keys(schema.properties)) {
    const direct = env[name]
    const file = env[`${name}_FILE`]
    if (direct !== undefined && direct !== '') {
      raw[name] = direct
    } else if (file) {
      try {
        raw[name] = readFile(file).replace(/\r?\n$/, '') // one trailing newline, as editors leave it
      } catch (err) {
        issues.push({
          variable: `${name}_FILE`,
          problem: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`
        })
      }
    }
  }

  const value = Value.Default(schema, Value.Convert(schema, structuredClone(raw))) as Record<string, unknown>
  for (const error of Value.Errors(schema, value)) {
    if (error.keyword === 'required') {
      const missing = (error.params as { requiredProperties: string[] }).requiredProperties
      for (const name of missing) {
        if (issues.some((i) => i.variable === `${name}_FILE`)) continue
        issues.push({ variable: name, problem: `missing (expected ${describe(schema.properties[name])})` })
      }
      continue
    }
    const name = error.instancePath.split('/')[1] ?? ''
    if (!name || issues.some((i) => i.variable === name)) continue
    const shown = SECRET_NAME.test(name) ? '<redacted>' : JSON.stringify(raw[name] ?? value[name])
    issues.push({
      variable: name,
      problem: `${error.message}, got ${shown} (expected ${describe(schema.properties[name])})`
    })
  }

  if (issues.length > 0) throw new ConfigError(issues)
  return value as Static<S>
}

function describe(schema: unknown): string {
  const s = (schema ?? {}) as Record<string, unknown>
  if (Array.isArray(s.anyOf))
    return (s.anyOf as Array<{ const?: unknown }>).map((o) => JSON.stringify(o.const)).join(' | ')
  const parts = [String(s.type ?? 'value')]
  if (s.format) parts.push(`format ${String(s.format)}`)
  if (s.minimum !== undefined) parts.push(`>= ${String(s.minimum)}`)
  if (s.maximum !== undefined) parts.push(`<= ${String(s.maximum)}`)
  if (s.minLength !== undefined) parts.push(`length >= ${String(s.minLength)}`)
  if (s.pattern !== undefined) parts.push(`matching ${String(s.pattern)}`)
  return parts.join(', ')
}
