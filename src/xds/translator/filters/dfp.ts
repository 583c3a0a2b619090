// Routes to a dynamic resolver backend forward to whatever host the request names: so that
// a request cannot reach the proxy itself or its host's loopback services, such routes deny
// loopback authorities with an RBAC filter of their own.
import type { HTTPRoute } from '../../../ir/xds.js';
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterName = 'envoy.filters.http.rbac.dfp_loopback_deny';

/** Host names and addresses of the loopback interface, with any port. */
const loopbackHosts = ['127\\.0\\.0\\.1', 'localhost', 'localhost\\.localdomain', 'ip6-localhost', 'ip6-loopback', '\\[::1\\]', '::1'];

function usesDynamicResolver(r: HTTPRoute): boolean {
  return !!r.destination?.settings?.some((s) => s.isDynamicResolver);
}

/** The header the upstream host comes from: a rewrite source header, or the authority itself. */
function hostHeader(r: HTTPRoute): string | undefined {
  const h = r.urlRewrite?.host;
  if (h?.header) return h.header;
  // A fixed host (or one derived otherwise) cannot be chosen by the client.
  if (h?.name || h?.backend || h?.pathRegex) return undefined;
  return ':authority';
}

function loopbackDeny(header: string): Msg {
  const predicates = loopbackHosts.map((h) => ({
    singlePredicate: {
      input: { name: 'http_header', typedConfig: typed('envoy.type.matcher.v3.HttpRequestHeaderMatchInput', { headerName: header }) },
      valueMatch: { safeRegex: { googleRe2: {}, regex: `^${h}(?::\\d+)?$` } },
    },
  }));
  return {
    matcherList: {
      matchers: [{
        predicate: { orMatcher: { predicate: predicates } },
        onMatch: { action: { name: 'deny-loopback-host', typedConfig: typed('envoy.config.rbac.v3.Action', { name: 'DENY', action: 'DENY' }) } },
      }],
    },
    onNoMatch: { action: { name: 'default', typedConfig: typed('envoy.config.rbac.v3.Action', { name: 'ALLOW' }) } },
  };
}

export const dynamicForwardProxy: HTTPFeature = {
  filters(l) {
    if (!l.routes?.some(usesDynamicResolver)) return [];
    return [{ name: filterName, typedConfig: typed('envoy.extensions.filters.http.rbac.v3.RBAC') }];
  },
  perRoute(r) {
    const header = usesDynamicResolver(r) ? hostHeader(r) : undefined;
    if (!header) return undefined;
    return { [filterName]: typed('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', { rbac: { matcher: loopbackDeny(header) } }) };
  },
};
