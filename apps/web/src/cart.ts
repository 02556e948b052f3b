// The cart lives in this browser (localStorage) until checkout places it as an order.
import { computed, signal } from '@preact/signals'
import type { Product } from '@platform/contracts'

export interface CartLine {
  productId: string
  name: string
  unitPriceMinor: number
  currency: string
  quantity: number
}

const KEY = 'platform.cart'
/** The API takes at most this many of one product in an order. */
export const MAX_QUANTITY = 100

function restore(): CartLine[] {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? '[]') as CartLine[]
    return Array.isArray(saved) ? saved : []
  } catch {
    return []
  }
}

export const cart = signal<CartLine[]>(restore())
cart.subscribe((lines) => localStorage.setItem(KEY, JSON.stringify(lines)))
export const cartCount = computed(() => cart.value.reduce((n, l) => n + l.quantity, 0))

export function addToCart(product: Product, quantity = 1): void {
  const lines = cart.value
  const existing = lines.find((l) => l.productId === product.id)
  cart.value = existing
    ? lines.map((l) =>
        l === existing ? { ...l, quantity: Math.min(MAX_QUANTITY, l.quantity + quantity) } : l
      )
    : [
        ...lines,
        {
          productId: product.id,
          name: product.name,
          unitPriceMinor: product.priceMinor,
          currency: product.currency,
          quantity: Math.min(MAX_QUANTITY, quantity)
        }
      ]
}

export function setQuantity(productId: string, quantity: number): void {
  cart.value =
    quantity <= 0
      ? cart.value.filter((l) => l.productId !== productId)
      : cart.value.map((l) =>
          l.productId === productId ? { ...l, quantity: Math.min(MAX_QUANTITY, quantity) } : l
        )
}

export function clearCart(): void {
  cart.value = []
}
