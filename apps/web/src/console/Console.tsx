import { isAdmin } from '../session.ts'
import { Page } from '../components/ui.tsx'

export function Console() {
  if (!isAdmin.value)
    return (
      <Page title="Operations console">
        <p role="alert">This page is for administrators only.</p>
      </Page>
    )
  return (
    <Page title="Operations console">
      <p>Loading…</p>
    </Page>
  )
}
