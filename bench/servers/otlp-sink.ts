// Accepts OTLP/HTTP exports and drops them: a collector that costs next to nothing. It answers as
// a collector does — an empty ExportTraceServiceResponse in the request's encoding (protobuf or
// JSON), which the exporter reads as full success.
import { createServer } from 'node:http'

const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    if (req.headers['content-type'] === 'application/x-protobuf') {
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end()
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    }
  })
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`))
