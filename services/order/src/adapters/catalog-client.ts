import { UnavailableError } from '@platform/errors'
import type { Upstream } from '@platform/resilience'
import type { Static } from 'typebox'
import type { CatalogProduct } from '../domain/order.ts'
import type { ProductBatchRead } from '../reads.ts'

/** The catalog's batch lookup (read as ../reads.ts declares), through the upstream client (discovery, breaker, timeout, retries). */
export function catalogClient(upstream: Upstream) {
  return {
    async products(ids: string[], requestId: string): Promise<CatalogProduct[]> {
      const res = await upstream.request<Static<typeof ProductBatchRead>>({
        method: 'POST',
        path: '/products/batch',
        body: { ids },
        idempotent: true, // a read, safe to repeat
        headers: { 'x-request-id': requestId }
      })
      if (res.statusCode !== 200) {
        throw new UnavailableError('CATALOG_UNAVAILABLE', 'the catalog could not price the basket', 1)
      }
      return res.body.items
    }
  }
}
