export { databaseUrl, eventually, host, stack, tools } from './stack.ts'
export { scratchSchema, scratchTopics } from './scratch.ts'
export { privateRedis } from './private-redis.ts'
export { freePort } from './free-port.ts'
