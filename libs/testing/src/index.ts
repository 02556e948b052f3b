export { databaseUrl, eventually, host, stack } from './stack.ts'
