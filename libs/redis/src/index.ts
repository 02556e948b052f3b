export { checkRedis, createRedis, whenConnected, type RedisOptions } from './client.ts'
export { createCache, noCache, type Cache, type CacheOptions } from './cache.ts'
export { redis, type RedisPluginOptions } from './plugin.ts'
export type { Redis } from 'ioredis'
