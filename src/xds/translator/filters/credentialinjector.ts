// Credential injection on a route (an HTTPRouteFilter credentialInjection among a rule's
// filters): one credential_injector filter per HTTPRouteFilter in the connection manager, off by
// default and turned on for the routes that use it, its credential served over SDS. Injection for
// one backend is an upstream filter of that backend's cluster instead (upstreamfilters.ts).
import { credentialInjectorFilter, credentialInjectorName, credentialSecret, credentialSecretName } from '../upstreamfilters.js';
import { enableFilter, uniqueFilters, type HTTPFeature } from './feature.js';

export const credentialInjection: HTTPFeature = {
  filters(l) {
    return uniqueFilters(l.routes, (r) => (r.credentialInjection ? [{ ...credentialInjectorFilter(r.credentialInjection), disabled: true }] : undefined));
  },
  perRoute(r) {
    const ci = r.credentialInjection;
    return ci ? { [credentialInjectorName(ci)]: enableFilter() } : undefined;
  },
  resources(l, ctx) {
    for (const r of l.routes ?? []) {
      const ci = r.credentialInjection;
      if (ci && !ctx.table.has('secrets', credentialSecretName(ci.name))) ctx.table.add('secrets', credentialSecret(ci));
    }
  },
};
