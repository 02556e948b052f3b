export { serverOptions, REQUEST_ID, type ServerOptions } from './server-options.ts'
export {
  httpKit,
  type HttpKitOptions,
  type ShutdownPhase,
  type Readiness,
  type Lifecycle
} from './http-kit.ts'
export { errorBody, type ErrorBody } from './error-handler.ts'
export { callerOf, requireRole, USER_HEADER, ROLES_HEADER, type Caller } from './caller.ts'
export { tuneGarbageCollector } from './runtime.ts'
