// Authorization of HTTP routes (SecurityPolicy authorization): one rbac filter per listener, each
// route's rules as its per-route matcher (./authorization.ts). Rules on the client's location
// need the geoip filter first, which looks the client up and stores the fields the rules read.
import type { HTTPListener } from '../../../ir/xds.js';
import { buildRBACMatcher, geoFieldsOf, geoHeaders, type GeoField } from '../authorization.js';
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.rbac';

export const rbac: HTTPFeature = {
  filters(l) {
    if (!l.routes?.some((r) => r.security?.authorization)) return [];
    return [{ name: filterType, typedConfig: typed('envoy.extensions.filters.http.rbac.v3.RBAC') }];
  },
  perRoute(r) {
    const a = r.security?.authorization;
    if (!a) return undefined;
    return { [filterType]: typed('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', { rbac: { matcher: buildRBACMatcher(a) } }) };
  },
};

/** MaxMind database paths of the IR, by the MaxMindConfig field they fill. */
const maxMindDatabases: [string, string][] = [
  ['cityDbPath', 'cityDbPath'],
  ['countryDbPath', 'countryDbPath'],
  ['asnDbPath', 'asnDbPath'],
  ['ispDbPath', 'ispDbPath'],
  ['anonymousIpDbPath', 'anonDbPath'],
];

/** The geolocation fields a listener's routes need looked up (none without a provider). */
function listenerGeoFields(l: HTTPListener): GeoField[] {
  if (!l.geoIPProvider?.maxMind) return [];
  const fields = new Set<GeoField>();
  for (const r of l.routes ?? []) geoFieldsOf(r.security?.authorization, fields);
  return (Object.keys(geoHeaders) as GeoField[]).filter((f) => fields.has(f));
}

export const geoip: HTTPFeature = {
  filters(l: HTTPListener) {
    const fields = listenerGeoFields(l);
    const mm = l.geoIPProvider?.maxMind;
    if (!fields.length || !mm) return [];
    const keys: Msg = {};
    for (const f of fields) keys[f] = geoHeaders[f];
    const cfg: Msg = { commonProviderConfig: { geoFieldKeys: keys } };
    for (const [from, to] of maxMindDatabases) {
      const path = (mm as Record<string, string | undefined>)[from];
      if (path) cfg[to] = path;
    }
    return [{
      name: 'envoy.filters.http.geoip',
      typedConfig: typed('envoy.extensions.filters.http.geoip.v3.Geoip', {
        provider: { name: 'envoy.geoip_providers.maxmind', typedConfig: typed('envoy.extensions.geoip_providers.maxmind.v3.MaxMindConfig', cfg) },
      }),
    }];
  },
  patchRoute(route, _r, l) {
    // The looked-up fields are for this proxy's rules only: they are not passed upstream.
    const fields = listenerGeoFields(l);
    if (fields.length) route.requestHeadersToRemove = [...(route.requestHeadersToRemove ?? []), ...fields.map((f) => geoHeaders[f])];
  },
};
