export { createConsul, type ConsulClient } from './consul.ts'
export { registerService, type Registration, type ServiceRegistration } from './register.ts'
export { createResolver, type Resolver, type ResolverOptions } from './resolver.ts'
export { discovery, METRICS_TAG, type DiscoveryPluginOptions } from './plugin.ts'
