import { spawn } from 'node:child_process'
import { eventually, freePort, tools } from '@platform/testing'

/**
 * A Consul dev agent of this test's own (the real binary the stack built), for tests that must
 * stop Consul without disturbing the shared one.
 */
export async function privateConsul(): Promise<{ url: string; stop: () => Promise<void> }> {
  const [http, server, serf] = [await freePort(), await freePort(), await freePort()]
  const agent = spawn(
    tools.consul,
    [
      'agent',
      '-dev',
      '-node=private',
      '-bind=127.0.0.1',
      '-client=127.0.0.1',
      `-http-port=${http}`,
      `-server-port=${server}`,
      `-serf-lan-port=${serf}`,
      '-serf-wan-port=-1',
      '-grpc-port=-1',
      '-grpc-tls-port=-1',
      '-dns-port=-1',
      '-hcl=disable_update_check = true',
      '-log-level=error'
    ],
    { stdio: 'ignore' }
  )
  const url = `http://127.0.0.1:${http}`
  const exited = new Promise((resolve) => agent.once('exit', resolve))
  await eventually(20_000, 'private consul elects itself leader', async () => {
    const leader = await (await fetch(`${url}/v1/status/leader`)).json()
    return leader ? true : undefined
  })
  return {
    url,
    stop: async () => {
      if (agent.exitCode === null) agent.kill('SIGKILL')
      await exited
    }
  }
}
