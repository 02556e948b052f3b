import { useLocation } from 'preact-iso'
import { isAdmin } from '../session.ts'
import { Page } from '../components/ui.tsx'
import { DeadLetters } from './DeadLetters.tsx'
import { Products } from './Products.tsx'
import { ServiceMap } from './ServiceMap.tsx'

const TABS = [
  { path: '/console', label: 'Services' },
  { path: '/console/dead-letters', label: 'Dead letters' },
  { path: '/console/products', label: 'Products' }
]

/** The operations console. The gateway refuses its data to anyone without the admin role. */
export function Console() {
  const { path } = useLocation()
  if (!isAdmin.value)
    return (
      <Page title="Operations console">
        <p role="alert">This page is for administrators only.</p>
      </Page>
    )
  const tab = TABS.find((t) => t.path === path) ?? TABS[0]!
  return (
    <Page title="Operations console">
      <nav class="tabs" aria-label="Console">
        {TABS.map((t) => (
          <a key={t.path} href={t.path} aria-current={t === tab ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      {tab.path === '/console' && <ServiceMap />}
      {tab.path === '/console/dead-letters' && <DeadLetters />}
      {tab.path === '/console/products' && <Products />}
    </Page>
  )
}
