import Consul from 'consul'

export type ConsulClient = InstanceType<typeof Consul>

/** A Consul client for `url` (`http://127.0.0.1:8500`). */
export function createConsul(url: string): ConsulClient {
  const { hostname, port, protocol } = new URL(url)
  return new Consul({
    host: hostname,
    port: Number(port || (protocol === 'https:' ? 443 : 80)),
    secure: protocol === 'https:'
  })
}
