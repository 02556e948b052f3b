// Shared by the benchmark suites: start servers pinned to a CPU, drive them with wrk, read their
// CPU time, keep medians of same-round ratios, write results. Method: shared/PERFORMANCE.md.
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '@platform/testing'

const run = promisify(execFile)
export const root = new URL('../', import.meta.url)

export interface Settings {
  rounds: number
  warmupSeconds: number
  durationSeconds: number
  connections: number
  modes: Array<'pinned' | 'unpinned'>
}

export function settings(): Settings {
  const env = process.env
  return {
    rounds: Number(env.BENCH_ROUNDS ?? 3),
    warmupSeconds: Number(env.BENCH_WARMUP ?? 3),
    durationSeconds: Number(env.BENCH_DURATION ?? 10),
    connections: Number(env.BENCH_CONNECTIONS ?? 100),
    modes: (env.BENCH_MODES ?? 'pinned,unpinned').split(',') as Settings['modes']
  }
}

export interface Server {
  url: string
  pid: number
  stop: () => Promise<void>
}

/** Starts `node args…` (pinned to CPU 1 in pinned mode); it must print its port on stdout. */
export async function startServer(
  args: string[],
  pinned: boolean,
  env: Record<string, string> = {}
): Promise<Server> {
  const command = pinned ? 'taskset' : process.execPath
  const argv = pinned
    ? ['-c', '1', process.execPath, '--conditions=development', ...args]
    : ['--conditions=development', ...args]
  const child: ChildProcess = spawn(command, argv, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)))
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** Starts a platform service (`node args…` in `cwd`, pinned in pinned mode) on a free port and waits for /health/ready. */
export async function startService(
  cwd: string,
  args: string[],
  env: Record<string, string>,
  pinned: boolean
): Promise<Server> {
  const port = await freePort()
  const argv = ['--conditions=development', ...args]
  const child = spawn(
    pinned ? 'taskset' : process.execPath,
    pinned ? ['-c', '1', process.execPath, ...argv] : argv,
    {
      cwd,
      env: { ...process.env, ...env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit']
    }
  )
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false
    )
    if (ok) break
    if (i > 300 || child.exitCode !== null) throw new Error(`${args.join(' ')} did not become ready`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** Runs one of a service's commands (`src/migrate.ts`, `src/seed.ts`) from its folder, to completion. */
export function runServiceCommand(cwd: string, file: string, env: Record<string, string>) {
  return run(process.execPath, ['--conditions=development', file], { cwd, env: { ...process.env, ...env } })
}

/** User + system CPU seconds a process has used so far (/proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (100 Hz)
}

export interface Measurement {
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  /** Server CPU per request, µs. */
  cpuUsPerRequest: number
}

function toMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(value) // wrk prints 812.00us, 1.20ms, 1.01s
  if (!match) return NaN
  return Number(match[1]) * ({ us: 0.001, ms: 1, s: 1000 } as const)[match[2] as 'us' | 'ms' | 's']
}

/** wrk -t1 -cN against `url` (pinned to CPU 0 in pinned mode), after a warm-up run. CPU per
 *  request is summed over `serverPid` (one process or every process on the path). */
export async function measure(
  url: string,
  serverPid: number | number[],
  s: Settings,
  pinned: boolean,
  script?: { file: string; env: Record<string, string> }
): Promise<Measurement> {
  const wrk = (seconds: number) => {
    const args = [
      '-t1',
      `-c${s.connections}`,
      `-d${seconds}s`,
      '--latency',
      ...(script ? ['-s', script.file] : []),
      url
    ]
    const options = { env: { ...process.env, ...script?.env } }
    return pinned ? run('taskset', ['-c', '0', 'wrk', ...args], options) : run('wrk', args, options)
  }
  const pids = [serverPid].flat()
  const used = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
  await wrk(s.warmupSeconds)
  const before = used()
  const { stdout } = await wrk(s.durationSeconds)
  const cpu = used() - before
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0)
  const errors =
    Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0) +
    Number(/Socket errors: .*?timeout (\d+)/.exec(stdout)?.[1] ?? 0)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0),
    p50Ms: toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    p99Ms: toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ''),
    errors,
    cpuUsPerRequest: requests > 0 ? (cpu * 1e6) / requests : NaN
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Writes `results` as JSON under bench-results/ and returns the path. */
export function writeResults(name: string, results: unknown): string {
  const dir = new URL('bench-results/', root)
  mkdirSync(dir, { recursive: true })
  const file = new URL(`${name}-${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}.json`, dir)
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(new URL(`${name}-latest.json`, dir), `${JSON.stringify(results, null, 2)}\n`)
  return file.pathname
}

/**
 * An open-loop run at `rate` requests/s for `seconds` after `warmupSeconds` at the same rate, by
 * vegeta (a Go load generator in its own process, pinned to CPU 0 in pinned mode; `scripts/setup.sh
 * bench` builds it). Requests start on schedule whatever the answers do — vegeta adds workers
 * rather than wait — so a stall shows in the latencies instead of slowing the load (no coordinated
 * omission); a generator in this Node process stalled itself for 10–50 ms every few seconds. At
 * most `connections` (default 100, as the throughput runs) are open: a request waits for one, and
 * that wait counts; without the cap one stall made vegeta open thousands and NGINX ran out.
 * Returns p50/p99 in ms of the measured part and how many failed (not 2xx, or no answer in 10 s).
 */
export async function paced(
  url: string,
  rate: number,
  seconds: number,
  options: { pinned?: boolean; warmupSeconds?: number; connections?: number } = {}
): Promise<{ p50Ms: number; p99Ms: number; failures: number; sent: number; codes: Record<string, number> }> {
  const warmup = options.warmupSeconds ?? 3
  const dir = mkdtempSync(join(tmpdir(), 'paced-'))
  const targets = join(dir, 'targets')
  writeFileSync(targets, `GET ${url}\n`)
  const results = join(dir, 'results.bin')
  const attack = `vegeta attack -targets=${targets} -rate=${rate}/s -duration=${warmup + seconds}s -timeout=10s -keepalive=true -max-connections=${options.connections ?? 100} -output=${results}`
  try {
    // The results are decoded after the attack, not piped into a decoder running beside it: that
    // decoder took ~10 % of the two cores from the servers under test (unpinned, 2026-11-29: edge
    // p50 1.0–1.4 → 0.6–0.7 ms at the same rate, alternating runs).
    await run('sh', ['-c', `${options.pinned ? 'taskset -c 0 ' : ''}${attack}`]).catch((error: Error) => {
      throw new Error(`vegeta failed (built by \`bash scripts/setup.sh bench\`): ${error.message}`)
    })
    const { stdout } = await run('vegeta', ['encode', '--to=csv', results], { maxBuffer: 1 << 30 })
    // timestamp (ns since the epoch), status code, latency (ns), … — one line per request.
    const hits = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(',', 3).map(Number) as [number, number, number])
    const start = hits.reduce((first, h) => Math.min(first, h[0]), Infinity) + warmup * 1e9
    const measured = hits.filter((h) => h[0] >= start)
    const ok = measured.filter((h) => h[1] >= 200 && h[1] < 300).map((h) => h[2] / 1e6)
    ok.sort((a, b) => a - b)
    const at = (p: number) => ok[Math.min(ok.length - 1, Math.floor(p * ok.length))] ?? NaN
    const codes: Record<string, number> = {}
    for (const [, status] of measured) {
      const code = status === 0 ? 'no answer' : String(status)
      codes[code] = (codes[code] ?? 0) + 1
    }
    return {
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      failures: measured.length - ok.length,
      sent: measured.length,
      codes
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * NGINX with the edge config of deploy/nginx (rendered as in production, gateways `upstreams`) on a
 * free port, pinned to CPU 1 in pinned mode. `microCache: false` renders it without the cache, so
 * every read goes through to the gateway. `pids` are the master's and its worker's.
 */
export async function startEdge(
  upstreams: string[],
  pinned: boolean,
  options: { microCache: boolean }
): Promise<Server & { pids: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-'))
  chmodSync(dir, 0o755) // NGINX started as root runs its workers as nobody: they must reach the cache
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  const template = new URL('deploy/nginx/nginx.conf', root).pathname
  await run('sh', [new URL('deploy/nginx/render.sh', root).pathname, template, conf], {
    env: {
      ...process.env,
      EDGE_GATEWAYS: upstreams.map((u) => new URL(u).host).join(' '),
      NGINX_LISTEN: `127.0.0.1:${port}`,
      NGINX_WORKERS: '1',
      NGINX_PID: join(dir, 'nginx.pid'),
      NGINX_TEMP: join(dir, 'temp'),
      NGINX_ACCESS_LOG: join(dir, 'access.log'),
      NGINX_ERROR_LOG: join(dir, 'error.log'),
      EDGE_RATE_PER_IP: '1000000r/s',
      EDGE_BURST_PER_IP: '100000'
    }
  })
  if (!options.microCache)
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('proxy_cache micro;', 'proxy_cache off;'))
  const argv = ['-p', dir, '-c', conf]
  await (pinned ? run('taskset', ['-c', '1', 'nginx', ...argv]) : run('nginx', argv))
  const master = Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim())
  const { stdout } = await run('pgrep', ['-P', String(master)])
  const pids = [master, ...stdout.trim().split('\n').map(Number)]
  return {
    url: `http://127.0.0.1:${port}`,
    pid: master,
    pids,
    stop: async () => {
      await run('nginx', [...argv, '-s', 'stop']).catch(() => process.kill(master, 'SIGTERM'))
      for (let i = 0; i < 50 && pids.some(alive); i++)
        await new Promise((resolve) => setTimeout(resolve, 100))
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
