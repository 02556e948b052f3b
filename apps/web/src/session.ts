// Who is signed in: the bearer token the gateway's development issuer gave, kept in this browser.
import { computed, signal } from '@preact/signals'
import type { Token, TokenRequest } from '@platform/contracts'
import { call } from './api.ts'

export interface Session {
  token: string
  user: string
  roles: string[]
  /** Epoch milliseconds. */
  expiresAt: number
}

const KEY = 'platform.session'

function claims(token: string): { sub?: string; roles?: string[]; exp?: number } {
  const payload = token.split('.')[1] ?? ''
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
  return JSON.parse(json) as { sub?: string; roles?: string[]; exp?: number }
}

function restore(): Session | null {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Session | null
    return saved && saved.expiresAt > Date.now() ? saved : null
  } catch {
    return null
  }
}

export const session = signal<Session | null>(restore())
export const isAdmin = computed(() => session.value?.roles.includes('admin') ?? false)

let expiry: ReturnType<typeof setTimeout> | undefined
session.subscribe((s) => {
  clearTimeout(expiry)
  if (s) {
    localStorage.setItem(KEY, JSON.stringify(s))
    expiry = setTimeout(signOut, Math.max(0, s.expiresAt - Date.now()))
  } else localStorage.removeItem(KEY)
})

export function signOut(): void {
  session.value = null
}

/** Signs in with the demo issuer; throws the API's error (401 INVALID_CREDENTIALS) as it is. */
export async function signIn(credentials: TokenRequest): Promise<void> {
  const { body } = await call<Token>('/auth/token', { method: 'POST', body: credentials, auth: false })
  const c = claims(body.accessToken)
  session.value = {
    token: body.accessToken,
    user: c.sub ?? credentials.username,
    roles: c.roles ?? [],
    expiresAt: c.exp ? c.exp * 1000 : Date.now() + body.expiresIn * 1000
  }
}
