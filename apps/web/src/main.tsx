import { render } from 'preact'
import { useEffect } from 'preact/hooks'
import { ErrorBoundary, lazy, LocationProvider, Route, Router } from 'preact-iso'
import { cartCount } from './cart.ts'
import { isAdmin, session, signOut } from './session.ts'
import { openStream } from './stream.ts'
import { Page } from './components/ui.tsx'
import { Cart } from './pages/Cart.tsx'
import { Catalog } from './pages/Catalog.tsx'
import { Notifications } from './pages/Notifications.tsx'
import { Order } from './pages/Order.tsx'
import { Orders } from './pages/Orders.tsx'
import { Product } from './pages/Product.tsx'
import { SignIn } from './pages/SignIn.tsx'
import './styles.css'

// The console is for administrators only: its code is loaded when one opens it.
const Console = lazy(() => import('./console/Console.tsx').then((m) => m.Console))

function NotFound() {
  return (
    <Page title="Not found">
      <p>
        There is no such page. <a href="/">Back to the shop</a>
      </p>
    </Page>
  )
}

/** A page that needs a signed-in user sends a visitor to sign in first, and back afterwards. */
function signedIn(component: () => preact.JSX.Element | null) {
  return function Guarded() {
    if (session.value) return component()
    const next = location.pathname + location.search
    return (
      <Page title="Sign in required">
        <p>
          Please <a href={`/signin?next=${encodeURIComponent(next)}`}>sign in</a> to see this page.
        </p>
      </Page>
    )
  }
}

const SignedInOrders = signedIn(Orders)
const SignedInOrder = signedIn(Order)
const SignedInNotifications = signedIn(Notifications)
const SignedInConsole = signedIn(() => <Console />)

function Header() {
  const s = session.value
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <a href="/" class="brand">
        Platform shop
      </a>
      <nav aria-label="Main">
        <a href="/">Shop</a>
        <a href="/cart">
          Cart <span data-testid="cart-count">({cartCount.value})</span>
        </a>
        {s && <a href="/orders">Orders</a>}
        {s && <a href="/notifications">Notifications</a>}
        {isAdmin.value && <a href="/console">Console</a>}
        {s ? (
          <button type="button" class="link" onClick={signOut}>
            Sign out {s.user}
          </button>
        ) : (
          <a href="/signin">Sign in</a>
        )}
      </nav>
    </header>
  )
}

function App() {
  const token = session.value?.token
  useEffect(() => (token ? openStream(token) : undefined), [token])
  return (
    <LocationProvider>
      <Header />
      <main id="main">
        <ErrorBoundary>
          <Router>
            <Route path="/" component={Catalog} />
            <Route path="/products/:id" component={Product} />
            <Route path="/cart" component={Cart} />
            <Route path="/signin" component={SignIn} />
            <Route path="/orders" component={SignedInOrders} />
            <Route path="/orders/:id" component={SignedInOrder} />
            <Route path="/notifications" component={SignedInNotifications} />
            <Route path="/console/:tab?" component={SignedInConsole} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </LocationProvider>
  )
}

render(<App />, document.getElementById('app')!)
