import type { ConsulClient } from './consul.ts'

/** A key of Consul's KV store, its value as text and the index a compare-and-set names. */
export interface KvEntry {
  key: string
  value: string
  modifyIndex: number
}

export interface KvWatchOptions {
  consul: ConsulClient
  /** Every key below it, e.g. `platform/splits/`. */
  prefix: string
  /** Called with every key below the prefix, at the first answer and at each change. */
  onChange: (entries: KvEntry[]) => void
  onError?: (err: Error) => void
  /** Longest a blocking query waits for a change. Default 30 s. */
  waitSeconds?: number
  /** Longest pause between retries while Consul is unreachable. Default 5 s. */
  maxBackoffMs?: number
}

interface RawEntry {
  Key: string
  Value: string | null
  ModifyIndex: number
}

/**
 * Follows the keys below a prefix with blocking queries: a change reaches every watcher within
 * moments, and while Consul is away the last answer stands (the watch retries with backoff).
 */
export function watchPrefix(options: KvWatchOptions): { stop: () => void } {
  const watch = options.consul.watch({
    method: options.consul.kv.get,
    options: { key: options.prefix, recurse: 'true', wait: `${options.waitSeconds ?? 30}s` },
    backoffFactor: 100,
    backoffMax: options.maxBackoffMs ?? 5000
  })
  watch.on('change', (raw: RawEntry[] | undefined) =>
    options.onChange(
      (raw ?? []).map((e) => ({ key: e.Key, value: e.Value ?? '', modifyIndex: e.ModifyIndex }))
    )
  )
  watch.on('error', (err: Error) => options.onError?.(err))
  return { stop: () => watch.end() }
}

/** Reads one key, or undefined when it doesn't exist. */
export async function readKey(consul: ConsulClient, key: string): Promise<KvEntry | undefined> {
  const raw = (await consul.kv.get({ key })) as RawEntry | undefined
  return raw ? { key: raw.Key, value: raw.Value ?? '', modifyIndex: raw.ModifyIndex } : undefined
}

/**
 * Writes `value` only if the key is still at `modifyIndex` (0: only if it doesn't exist yet), so
 * two writers can't overwrite each other's change unseen. Whether it was written.
 */
export async function compareAndSet(
  consul: ConsulClient,
  key: string,
  value: string,
  modifyIndex: number
): Promise<boolean> {
  return (await consul.kv.set({ key, value, cas: modifyIndex })) === true
}
