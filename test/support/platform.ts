// The native platform (scripts/platform.sh, `npm run up`) for end-to-end tests: started when it
// isn't running, and stopped again afterwards only by the test file that started it.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { platform } from '@platform/testing'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

/** Runs `scripts/platform.sh ARGS…`; on failure, throws with what each process said. */
export async function platformCommand(...args: string[]): Promise<void> {
  await run('bash', [platform.script, ...args], { cwd: root, timeout: 240_000 }).catch(
    (err: { stderr?: string }) => {
      // What each process said, then from the first error on: the failing process's log tail.
      const lines = (err.stderr ?? '').split('\n')
      const firstError = lines.findIndex((l) => l.startsWith('error'))
      const said = [
        ...lines.filter((l) => l.includes(': ready')),
        ...(firstError === -1 ? lines.slice(-20) : lines.slice(firstError, firstError + 25))
      ]
      throw new Error(`scripts/platform.sh ${args.join(' ')} failed:\n${said.join('\n').slice(0, 4000)}`)
    }
  )
}

/** Starts the platform unless it is up; resolves with the function that undoes what it did. */
export async function usePlatform(): Promise<() => Promise<void>> {
  const up = await run('bash', [platform.script, 'status'], { cwd: root }).then(
    () => true,
    () => false
  )
  if (up) return async () => {}
  await platformCommand('up')
  // A platform someone else started is left running.
  return () => platformCommand('stop', 'gateway-2', 'gateway', 'notification', 'order', 'catalog', 'mail')
}
