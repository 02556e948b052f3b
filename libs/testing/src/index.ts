export { databaseUrl, eventually, host, stack, tools } from './stack.ts'
