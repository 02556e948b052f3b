import { useState } from 'preact/hooks'
import { useLocation } from 'preact-iso'
import { signIn } from '../session.ts'
import { ErrorNotice, Page } from '../components/ui.tsx'

/** Only paths of this app are followed after sign-in (never another origin). */
function safeNext(next: string | undefined): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/'
}

export function SignIn() {
  const { query, route } = useLocation()
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  async function submit(event: SubmitEvent) {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(null)
    try {
      await signIn({
        username: String(form.get('username') ?? ''),
        password: String(form.get('password') ?? '')
      })
      route(safeNext(query.next), true)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <Page title="Sign in">
      <p class="muted">
        Demo users: <code>alice</code> and <code>bob</code> (customers), <code>admin</code> (the console); the
        password is <code>demo</code>.
      </p>
      <form class="stack" onSubmit={submit}>
        <label for="username">User name</label>
        <input id="username" name="username" autoComplete="username" required maxLength={64} />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          maxLength={200}
        />
        <ErrorNotice error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </Page>
  )
}
