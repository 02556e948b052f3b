import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestServer {
  url: string
  hits: number
  /** Sockets the server saw closed, e.g. by a client that gave up. */
  closedSockets: number
  handle: (req: IncomingMessage, res: ServerResponse) => void
  close: () => Promise<void>
}

/** A real HTTP server on 127.0.0.1 whose behaviour a test swaps through `handle`. */
export async function testServer(): Promise<TestServer> {
  const state: TestServer = {
    url: '',
    hits: 0,
    closedSockets: 0,
    handle: (_req, res) => json(res, 200, { ok: true }),
    close: async () => {}
  }
  const server = createServer((req, res) => {
    state.hits++
    state.handle(req, res)
  })
  server.on('connection', (socket) => socket.on('close', () => state.closedSockets++))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return state
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}
