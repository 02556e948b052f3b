export { databaseUrl, eventually, host, stack, tools } from './stack.ts'
export { scratchSchema, scratchTopics } from './scratch.ts'
