import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type Bindings = Parameters<FastifyBaseLogger['child']>[0]
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1]

/**
 * A request's logger that becomes a real pino child (binding the request id) only when something
 * at an enabled level is logged. Fastify makes a child logger for every request; with request
 * logging off most are never used, and skipping them is a measurable share of a hello-world
 * request's CPU (figures in bench/README.md).
 */
class LazyChildLogger {
  #parent: FastifyBaseLogger
  #bindings: Bindings
  #options: ChildOptions
  #child: FastifyBaseLogger | undefined

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  #enabled(level: string): boolean {
    const logger = (this.#child ?? this.#parent) as FastifyBaseLogger & {
      isLevelEnabled?: (level: string) => boolean
    }
    return logger.isLevelEnabled?.(level) ?? true
  }

  #log(level: Level, args: unknown[]): void {
    if (this.#child || this.#enabled(level)) (this.#real()[level] as (...a: unknown[]) => void)(...args)
  }

  get level(): string {
    return (this.#child ?? this.#parent).level
  }
  set level(level: string) {
    this.#real().level = level
  }
  isLevelEnabled(level: string): boolean {
    return this.#enabled(level)
  }
  fatal(...args: unknown[]): void {
    this.#log('fatal', args)
  }
  error(...args: unknown[]): void {
    this.#log('error', args)
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args)
  }
  info(...args: unknown[]): void {
    this.#log('info', args)
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args)
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args)
  }
  silent(): void {}
  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
}

export const lazyChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options
) => new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger
