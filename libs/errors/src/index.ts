export { AppError, NotFoundError, UnavailableError, isAppError, type AppErrorOptions } from './app-error.ts'
export { isDependencyUnavailable } from './unavailable.ts'
