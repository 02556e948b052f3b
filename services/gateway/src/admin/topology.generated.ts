// Generated from services/*/service.json (npm run generate): edit the manifests, not this.
import type { ServiceNode } from './overview.ts'

export const TOPOLOGY: ServiceNode[] = [
  { name: 'catalog', calls: [], produces: ['catalog.events'], consumes: ['order.events'] },
  { name: 'notification', calls: [], produces: [], consumes: ['order.events'] },
  { name: 'order', calls: ['catalog'], produces: ['order.events'], consumes: ['catalog.events'] },
  { name: 'gateway', calls: ['catalog', 'order', 'notification'], produces: [], consumes: [] }
]
