// Connecting the proxy to an ADS server: the ADS client (./xds) delivers decoded, validated
// resources per type; the proxy applies them (ACK) or refuses them with problems that name the
// resource and the field (NACK) and keeps its last good configuration. After each applied update
// the subscriptions follow the configuration: EDS for the EDS clusters, RDS for the route
// configurations the listeners name, SDS for the secrets TLS contexts and filters reference.
import { formatConfigProblem } from './config/errors.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, type ResourceType } from './config/type_urls.js';
import type { Proxy } from './proxy.js';
import { AdsClient } from './xds/index.js';

export interface AdsOptions {
  server: string;
  delta: boolean;
  node: { id: string; cluster: string };
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
}

const KNOWN = new Set<string>([CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET]);

export function startAds(proxy: Proxy, o: AdsOptions): AdsClient {
  const client: AdsClient = new AdsClient({
    server: o.server,
    node: o.node,
    protocol: o.delta ? 'delta' : 'sotw',
    tls: o.tls,
    apply: async (u) => {
      if (!KNOWN.has(u.typeUrl)) return `unsupported resource type ${u.typeUrl}`;
      const type = u.typeUrl as ResourceType;
      // In state of the world, only listeners and clusters are sent whole; for the named types
      // an absent resource is not a removal (it goes when it is no longer subscribed).
      const whole = u.complete && (type === LISTENER || type === CLUSTER);
      const problems = await proxy.apply([{ type, resources: u.resources.map((r) => r.resource), removed: u.removed, sotw: whole }]);
      if (problems.length) return problems.map(formatConfigProblem).join('; ');
      if (type === CLUSTER) client.subscribe(ENDPOINT, proxy.edsServiceNames());
      if (type === LISTENER) client.subscribe(ROUTE, proxy.routeNames());
      if (type === LISTENER || type === CLUSTER || type === ROUTE) client.subscribe(SECRET, proxy.secretNames());
      return undefined;
    },
  });
  client.start();
  return client;
}
