// The one way the app talks to the platform: the public API, same origin, through the edge.
import type { ErrorBody } from '@platform/contracts'
import { session, signOut } from './session.ts'

export const API = '/api/v1'

/** An answer the API refused, with what a person needs to understand it. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly requestId: string | undefined
  /** Seconds to wait, from Retry-After (429, 503). */
  readonly retryAfter: number | undefined

  constructor(status: number, body: Partial<ErrorBody>, retryAfter: number | undefined) {
    super(body.message ?? `HTTP ${status}`)
    this.status = status
    this.code = body.code ?? 'HTTP_' + status
    this.requestId = body.requestId
    this.retryAfter = retryAfter
  }
}

/** The platform could not be reached at all (offline, edge down). */
export class NetworkError extends Error {}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
  /** Send the signed-in user's token (default: when there is one). */
  auth?: boolean
}

function retryAfterOf(res: Response): number | undefined {
  const value = res.headers.get('retry-after')
  if (value === null) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds))
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

/** Calls the API; resolves to the parsed body with its headers, throws ApiError or NetworkError. */
export async function call<T>(
  path: string,
  options: RequestOptions = {}
): Promise<{ body: T; res: Response }> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers }
  const token = options.auth === false ? undefined : session.value?.token
  if (token) headers.authorization = `Bearer ${token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(API + path, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {})
    })
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new NetworkError('the platform could not be reached')
  }
  const text = await res.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  if (!res.ok) {
    // A token the gateway refuses is of no further use: forget it, so the next screen asks to sign in.
    if (res.status === 401 && token) signOut()
    throw new ApiError(res.status, (body ?? {}) as Partial<ErrorBody>, retryAfterOf(res))
  }
  return { body: body as T, res }
}

export const get = async <T>(path: string, signal?: AbortSignal): Promise<T> =>
  (await call<T>(path, signal ? { signal } : {})).body

/** What a person reads for an error: no codes, no stack, what to do next. */
export function explain(err: unknown): string {
  if (err instanceof NetworkError)
    return 'The shop can’t be reached right now. Check your connection and try again.'
  if (!(err instanceof ApiError)) return 'Something went wrong on this page. Reload it and try again.'
  const wait =
    err.retryAfter !== undefined ? ` Try again in ${Math.max(1, err.retryAfter)} s.` : ' Try again shortly.'
  switch (err.status) {
    case 400:
      return `That request wasn’t valid: ${err.message}.`
    case 401:
      return err.code === 'INVALID_CREDENTIALS'
        ? 'Unknown user or wrong password.'
        : 'Your session has ended. Please sign in again.'
    case 403:
      return 'This page is for administrators only.'
    case 404:
      return 'We couldn’t find that. It may have been removed, or it isn’t yours.'
    case 409:
      return `That can’t be done now: ${err.message}.`
    case 412:
      return 'Someone changed this in the meantime. Reload it to see the latest version, then try again.'
    case 422:
      return `We couldn’t do that: ${err.message}.`
    case 429:
      return 'You’re going a little fast.' + wait
    case 503:
      return 'Part of the shop is busy or unavailable at the moment.' + wait
    default:
      return err.status >= 500
        ? 'The shop had a problem answering.' + wait
        : `The request was refused (${err.message}).`
  }
}
