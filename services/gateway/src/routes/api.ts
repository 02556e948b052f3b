import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, ROLES_HEADER, USER_HEADER } from '@platform/http-kit'
import type { Upstream as UpstreamClient } from '@platform/resilience'
import type { Choice, Splits } from '../splits.ts'
import { authenticate } from '../auth/authenticate.ts'
import type { Principal } from '../auth/jwt.ts'
import type { ServiceRoute } from './forward.ts'
import { ROUTES, type Route } from './table.ts'

export const API_PREFIX = '/api/v1'
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const

export interface ApiOptions {
  /** A client per service: those of the route table, and those of `serviceRoutes`. */
  upstreams: Record<string, UpstreamClient>
  /** Prefixes forwarded as they are, from the manifests of services the table doesn't list. */
  serviceRoutes: ServiceRoute[]
  verify: (token: string) => Promise<Principal>
  /** Streams one caller may hold open through this gateway; beyond it, 429. */
  maxStreamsPerUser: number
  /** The table's routes (default ROUTES). */
  routes?: Route[]
  /** Weighted routing of an upstream's traffic to a second target (splits.ts). */
  splits?: Splits
}

// What crosses the gateway. Identity headers are never taken from the client: only set from the token.
const REQUEST_HEADERS = [
  'accept',
  'accept-language',
  'content-type',
  'idempotency-key',
  'if-match',
  'if-none-match',
  'last-event-id'
] as const
const RESPONSE_HEADERS = [
  'content-type',
  'etag',
  'last-modified',
  'retry-after',
  'x-accel-buffering'
] as const

function targetPath(route: Route | ServiceRoute, request: FastifyRequest): string {
  if (!('target' in route)) return request.url.slice(API_PREFIX.length)
  const params = request.params as Record<string, string>
  const path = route.target.replace(/:([A-Za-z]+)/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? '')
  )
  const q = request.url.indexOf('?')
  return q === -1 ? path : path + request.url.slice(q)
}

function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': request.id }
  for (const name of REQUEST_HEADERS) {
    const value = request.headers[name]
    if (typeof value === 'string') headers[name] = value
  }
  if (request.principal) {
    headers[USER_HEADER] = request.principal.id
    headers[ROLES_HEADER] = request.principal.roles.join(',')
  }
  return headers
}

function answer(
  reply: FastifyReply,
  request: FastifyRequest,
  status: number,
  headers: Record<string, unknown>
) {
  reply.code(status)
  for (const name of RESPONSE_HEADERS) {
    const value = headers[name]
    if (typeof value === 'string') reply.header(name, value)
  }
  // A service's own paths become public ones.
  const location = headers.location
  if (typeof location === 'string')
    reply.header('location', location.startsWith('/') ? API_PREFIX + location : location)
  // Personal answers are never stored by a shared cache (the edge micro-caches anonymous reads only).
  if (request.principal) reply.header('cache-control', 'private, no-store')
}

/**
 * The public API: every route of the table, authenticated as it says, then forwarded through the
 * upstream's client (discovery, breaker, timeout, retries for idempotent calls — and for a POST
 * carrying an Idempotency-Key). Bodies pass through as bytes; the service validates them.
 */
export async function apiRoutes(
  app: FastifyInstance,
  { upstreams, serviceRoutes, verify, maxStreamsPerUser, routes = ROUTES, splits }: ApiOptions
): Promise<void> {
  // Streams open here per caller: one caller can't take every connection to a service.
  const openStreams = new Map<string, number>()
  // Bodies are forwarded as received: read them as bytes (this context only).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body)
  )

  type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  /** Where a request goes: the upstream, or the target of its traffic split for this caller. */
  const choose = (name: string, key: string, upstream: UpstreamClient, request: FastifyRequest): Choice =>
    splits
      ? splits.choose(name, key, request.principal?.id ?? request.ip)
      : { target: name, client: upstream, split: false }
  const forward = (route: Route | ServiceRoute, upstream: UpstreamClient): Handler => {
    const name = 'target' in route ? route.upstream : route.service
    const key =
      'target' in route ? `${route.method} ${route.path}` : `* ${route.prefix.slice(API_PREFIX.length)}`
    return route.stream
      ? async (request, reply) => {
          const caller = request.principal?.id ?? request.ip
          const open = openStreams.get(caller) ?? 0
          if (open >= maxStreamsPerUser) {
            return reply
              .code(429)
              .header('retry-after', '5')
              .send(
                errorBody(request, 'TOO_MANY_STREAMS', `at most ${maxStreamsPerUser} open streams per caller`)
              )
          }
          openStreams.set(caller, open + 1)
          const abort = new AbortController()
          reply.raw.once('close', () => {
            const left = (openStreams.get(caller) ?? 1) - 1
            if (left > 0) openStreams.set(caller, left)
            else openStreams.delete(caller)
            abort.abort()
          })
          const openStream = (client: UpstreamClient) =>
            client.stream({
              method: request.method,
              path: targetPath(route, request),
              headers: forwardedHeaders(request),
              signal: abort.signal
            })
          const choice = choose(name, key, upstream, request)
          const started = performance.now()
          // A split's target that can't open the stream: the upstream itself opens it.
          const res = await openStream(choice.client).catch((err: unknown) => {
            splits?.record(name, choice, 503, (performance.now() - started) / 1000)
            if (choice.split) return openStream(upstream)
            throw err
          })
          splits?.record(name, choice, res.statusCode, (performance.now() - started) / 1000)
          answer(reply, request, res.statusCode, res.headers)
          reply.header('x-accel-buffering', 'no')
          return reply.send(res.body)
        }
      : async (request, reply) => {
          const headers = forwardedHeaders(request)
          // Safe to repeat: the order service answers a repeated key with the first answer.
          const repeatable = headers['idempotency-key'] !== undefined
          const call = (client: UpstreamClient) =>
            client.request<Buffer>({
              method: request.method,
              path: targetPath(route, request),
              headers,
              ...(request.body !== undefined ? { body: request.body as Buffer } : {}),
              parse: false,
              idempotent: repeatable
            })
          // A split's target that fails a request safe to repeat: the upstream itself answers it.
          const safe = request.method === 'GET' || request.method === 'HEAD' || repeatable
          const choice = choose(name, key, upstream, request)
          const started = performance.now()
          const took = () => (performance.now() - started) / 1000
          const res = await call(choice.client).then(
            (res) => {
              splits?.record(name, choice, res.statusCode, took())
              return choice.split && safe && res.statusCode >= 500 ? call(upstream) : res
            },
            (err: unknown) => {
              splits?.record(name, choice, 503, took())
              if (choice.split && safe) return call(upstream)
              throw err
            }
          )
          answer(reply, request, res.statusCode, res.headers)
          return reply.send(res.statusCode === 204 ? undefined : res.body)
        }
  }

  for (const route of routes) {
    const upstream = upstreams[route.upstream]
    if (!upstream) throw new Error(`no upstream client for ${route.upstream} (${route.method} ${route.path})`)
    app.route({
      method: route.method,
      url: API_PREFIX + route.path,
      config: { docs: route, longLived: route.stream === true },
      onRequest: authenticate(verify, route.access),
      handler: forward(route, upstream)
    })
  }
  // A path of the table with another method: 405 and the methods it has, before any token check.
  const methods = new Map<string, string[]>()
  for (const route of routes) methods.set(route.path, [...(methods.get(route.path) ?? []), route.method])
  for (const [path, allowed] of methods) {
    const others = METHODS.filter((m) => !allowed.includes(m))
    const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', ')
    if (others.length > 0)
      app.route({
        method: others,
        url: API_PREFIX + path,
        handler: async (request, reply) =>
          reply
            .code(405)
            .header('allow', allow)
            .send(
              errorBody(
                request,
                'METHOD_NOT_ALLOWED',
                `${request.method} is not allowed here; allowed: ${allow}`
              )
            )
      })
  }
  for (const route of serviceRoutes) {
    const upstream = upstreams[route.service]
    if (!upstream) throw new Error(`no upstream client for ${route.service} (${route.prefix})`)
    for (const url of [route.prefix, `${route.prefix}/*`])
      app.route({
        method: [...METHODS],
        url,
        config: { longLived: route.stream },
        onRequest: authenticate(verify, route.access),
        handler: forward(route, upstream)
      })
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route table entry a gateway route was made from (its OpenAPI documentation). */
    docs?: Route
  }
}
