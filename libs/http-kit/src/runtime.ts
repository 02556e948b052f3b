import { setFlagsFromString } from 'node:v8'

/**
 * Garbage-collector settings for a process that serves requests; call it first thing in a
 * service's server.ts. It turns off V8's allocation-site pretenuring: under steady traffic V8
 * learns to allocate short-lived request objects straight into the old generation, which then
 * fills in seconds and brings a full collection whose concurrent marking slows every request for
 * ~150 ms (bench/README.md has the figures with and without it). The flag is read at collection
 * time, so setting it at start-up is enough.
 */
export function tuneGarbageCollector(): void {
  setFlagsFromString('--no-allocation-site-pretenuring')
}
