import { spawn, type ChildProcess } from 'node:child_process'
import { eventually, freePort, tools } from '@platform/testing'

/**
 * A Consul dev agent of this test's own (the real binary the stack built), for tests that must
 * stop or restart Consul without disturbing the shared one. A dev agent keeps nothing on disk: a
 * restart forgets every registration, as a Consul restarted without its data does.
 */
export async function privateConsul(): Promise<{
  url: string
  stop: () => Promise<void>
  restart: () => Promise<void>
}> {
  const [http, server, serf] = [await freePort(), await freePort(), await freePort()]
  const url = `http://127.0.0.1:${http}`
  let agent: ChildProcess
  let exited: Promise<unknown>

  const start = async () => {
    agent = spawn(
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
    exited = new Promise((resolve) => agent.once('exit', resolve))
    await eventually(20_000, 'private consul elects itself leader', async () => {
      const leader = await (await fetch(`${url}/v1/status/leader`)).json()
      return leader ? true : undefined
    })
  }
  const stop = async () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url,
    stop,
    restart: async () => {
      await stop()
      await start()
    }
  }
}
