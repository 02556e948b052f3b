export * from './events.ts'
export * from './http.ts'
export * from './api.ts'
export * from './admin.ts'
