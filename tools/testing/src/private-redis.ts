import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { freePort } from './free-port.ts'
import { eventually } from './stack.ts'

/**
 * A Redis server of the test's own (Debian's redis-server, in memory), for tests that stop Redis
 * without disturbing the shared one.
 */
export async function privateRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort()
  const server = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore'
    }
  )
  const exited = new Promise((resolve) => server.once('exit', resolve))
  const accepts = () =>
    new Promise<true | undefined>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end()
        resolve(true)
      })
      socket.on('error', () => resolve(undefined))
    })
  await eventually(10_000, 'private redis accepts connections', accepts)
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (server.exitCode === null) server.kill('SIGKILL')
      await exited
    }
  }
}
