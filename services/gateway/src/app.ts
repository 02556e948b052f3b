import cors from '@fastify/cors'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import helmet from 'helmet'
import type { JSONWebKeySet } from 'jose'
import { ErrorBodySchema, OverviewSchema, TokenRequestSchema, TokenSchema } from '@platform/contracts'
import { AppError } from '@platform/errors'
import { redis } from '@platform/redis'
import type { Upstream as UpstreamClient } from '@platform/resilience'
import { createService } from '@platform/service'
import { algorithms, manifest, urlOf, type Config } from './config.ts'
import { createDevIssuer, type DevIssuer } from './auth/dev-issuer.ts'
import { createVerifier } from './auth/jwt.ts'
import { createOverview } from './admin/overview.ts'
import { TOPOLOGY } from './admin/topology.generated.ts'
import { authenticate } from './auth/authenticate.ts'
import { registerRateLimit } from './rate-limit.ts'
import { API_PREFIX, apiRoutes } from './routes/api.ts'
import type { ServiceRoute } from './routes/forward.ts'
import { SERVICE_ROUTES } from './routes/services.generated.ts'
import { openApiDocument } from './openapi.ts'
import { createSplits } from './splits.ts'
import { deadLetterRoutes, operations, ROUTES, type Upstream } from './routes/table.ts'

const UPSTREAMS: Upstream[] = ['catalog', 'order', 'notification']

/**
 * The headers helmet sets, read once from a throwaway response. An API answers JSON: nothing in it
 * may load or frame anything (the docs page sets its own policy).
 */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader: (name: string, value: string | string[]) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()]
  }
  helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] }
    },
    crossOriginResourcePolicy: { policy: 'same-site' }
  })({} as never, res as never, () => {})
  return headers
}

export interface AppOptions {
  /** The routes forwarded as they are (default: those generated from the manifests). */
  serviceRoutes?: ServiceRoute[]
}

/** The gateway's whole wiring. Never listens: server.ts does. */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const serviceRoutes = options.serviceRoutes ?? SERVICE_ROUTES
  const service = await createService({
    manifest,
    config,
    trustProxy: config.TRUST_PROXY,
    loadShedding: { maxInFlight: config.MAX_IN_FLIGHT }
  })
  const { app } = service
  // Not a hard dependency: without Redis each instance limits on its own.
  await app.register(redis, { url: config.REDIS_URL, name: 'ratelimit', required: false })

  // Tokens: configured keys, an identity provider's JWKS, and the development issuer's own key.
  const issuer: DevIssuer | undefined = config.DEV_TOKENS_PRIVATE_JWK
    ? await createDevIssuer({
        privateJwk: JSON.parse(config.DEV_TOKENS_PRIVATE_JWK),
        password: config.DEV_TOKENS_PASSWORD,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        ttlSeconds: config.DEV_TOKENS_TTL_SECONDS
      })
    : undefined
  const configured = config.JWT_JWKS ? (JSON.parse(config.JWT_JWKS) as JSONWebKeySet).keys : []
  const keys = [...configured, ...(issuer ? [issuer.publicJwk] : [])]
  const verify = createVerifier({
    ...(keys.length > 0 ? { jwks: { keys } } : {}),
    ...(config.JWT_JWKS_URL ? { jwksUrl: config.JWT_JWKS_URL } : {}),
    algorithms: algorithms(config),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    clockToleranceSeconds: config.JWT_CLOCK_SKEW_SECONDS
  })

  // Services: found through Consul (healthy instances, last known good while Consul is away) or fixed.
  const fixed: Record<Upstream, string | undefined> = {
    catalog: config.CATALOG_URL,
    order: config.ORDER_URL,
    notification: config.NOTIFICATION_URL
  }
  const forwarded = [...new Set(serviceRoutes.map((r) => r.service))]
  // Every consuming service's dead letters are reachable from the operations console.
  const consumers = TOPOLOGY.filter((n) => n.consumes.length > 0).map((n) => n.name)
  const upstreams: Record<string, UpstreamClient> = Object.fromEntries(
    [...new Set([...UPSTREAMS, ...forwarded, ...consumers])].map((name) => [
      name,
      service.upstream(name, {
        url: fixed[name as Upstream] ?? urlOf(config, name),
        timeoutMs: config.UPSTREAM_TIMEOUT_MS,
        maxConcurrent: 512
      })
    ])
  )

  // Security headers: helmet's, computed once (they never vary per request) and set on every answer.
  const security = securityHeaders()
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(security)
    done()
  })
  const origins = config.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean)
  await app.register(cors, {
    origin: origins.length > 0 ? origins : false,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'authorization',
      'content-type',
      'idempotency-key',
      'if-match',
      'if-none-match',
      'last-event-id'
    ],
    exposedHeaders: [
      'etag',
      'location',
      'retry-after',
      'x-request-id',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset'
    ],
    maxAge: 600
  })
  await registerRateLimit(app, {
    redis: app.redis,
    max: config.RATE_LIMIT_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    namespace: config.RATE_LIMIT_NAMESPACE,
    onFallback: (local) =>
      local
        ? app.log.warn('redis unavailable: rate limits are counted per gateway instance until it returns')
        : app.log.info('redis is back: rate limits are shared again')
  })

  // The document is the committed one (libs/contracts/generated/openapi.json), built by the same code.
  await app.register(swagger, {
    mode: 'static',
    specification: { document: openApiDocument(operations(consumers), API_PREFIX) as never }
  })
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true })

  if (issuer) {
    app.post(
      `${API_PREFIX}/auth/token`,
      {
        schema: {
          body: TokenRequestSchema,
          response: {
            200: TokenSchema,
            400: ErrorBodySchema,
            401: ErrorBodySchema
          }
        }
      },
      async (request) => {
        const issued = await issuer.issue(request.body.username, request.body.password)
        if (!issued) throw new AppError(401, 'INVALID_CREDENTIALS', 'unknown user or wrong password')
        return { accessToken: issued.token, tokenType: 'Bearer' as const, expiresIn: issued.expiresIn }
      }
    )
  }

  // The operations console's data: the platform's picture, and each consuming service's dead letters.
  const overview = createOverview({
    topology: TOPOLOGY,
    consulUrl: config.CONSUL_URL,
    prometheusUrl: config.PROMETHEUS_URL
  })
  app.get(
    `${API_PREFIX}/admin/overview`,
    {
      onRequest: authenticate(verify, 'admin'),
      schema: {
        response: { 200: OverviewSchema, 401: ErrorBodySchema, 403: ErrorBodySchema }
      }
    },
    async (_request, reply) => {
      reply.header('cache-control', 'private, no-store')
      return overview()
    }
  )
  // Weighted routing (platform/splits/<upstream> in Consul KV): a split's target gets a client the
  // first time a split names it; readiness never waits for it.
  const splits = createSplits({
    consul: service.consul,
    prefix: config.SPLITS_PREFIX,
    registry: service.metrics.registry,
    log: app.log,
    primary: (name) => upstreams[name]!,
    clientFor: (target) =>
      service.upstream(target, {
        url: urlOf(config, target),
        timeoutMs: config.UPSTREAM_TIMEOUT_MS,
        maxConcurrent: 512,
        awaitDiscovery: false
      })
  })
  app.lifecycle.onShutdown('closePools', () => splits.stop())

  await app.register(apiRoutes, {
    splits,
    upstreams,
    serviceRoutes,
    verify,
    maxStreamsPerUser: config.STREAMS_PER_USER,
    routes: [...ROUTES, ...consumers.flatMap(deadLetterRoutes)]
  })

  return app
}
