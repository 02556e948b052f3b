// Generated from services/*/service.json (npm run generate): edit the manifests, not this.
import type { ServiceRoute } from './forward.ts'

/** The public routes of the services the route table doesn't list: forwarded as they are. */
export const SERVICE_ROUTES: ServiceRoute[] = []
