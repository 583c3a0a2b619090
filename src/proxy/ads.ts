// Connecting the proxy to an ADS server: the "wire" helper's ADS client delivers decoded
// resources; the proxy applies them (ACK) or refuses them with the problem (NACK). Every type is
// subscribed to in full: the server's snapshot for our node cluster is exactly our
// configuration, so there is nothing to select by name.
import { AdsClient } from './xds/index.js';
import { formatConfigProblem } from './config/errors.js';
import { RESOURCE_TYPES, type ResourceType } from './config/type_urls.js';
import type { Proxy } from './proxy.js';

export interface AdsOptions {
  server: string;
  delta: boolean;
  node: { id: string; cluster: string };
  /** mTLS to the server: its CA, our client certificate and key. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
}

export async function startAds(proxy: Proxy, o: AdsOptions): Promise<AdsClient> {
  const client = new AdsClient({
    server: o.server,
    node: o.node,
    protocol: o.delta ? 'delta' : 'sotw',
    tls: o.tls,
    wildcardTypes: [...RESOURCE_TYPES],
    apply: async (u) => {
      const type = u.typeUrl as ResourceType;
      if (!RESOURCE_TYPES.includes(type)) return `unsupported resource type ${u.typeUrl}`;
      const problems = await proxy.apply([{ type, resources: u.resources.map((r) => r.resource), removed: u.removed, sotw: u.complete }]);
      if (problems.length) return problems.map(formatConfigProblem).join('; ');
      proxy.versions.set(type, u.version);
      return undefined;
    },
  });
  client.on('disconnected', (err) => {
    if (err) console.error(`egts proxy: ADS stream to ${o.server} lost: ${err.message}; reconnecting`);
  });
  client.on('nack', (typeUrl, _version, message) => console.error(`egts proxy: rejected ${typeUrl.slice(typeUrl.lastIndexOf('.') + 1)}: ${message}`));
  client.start();
  return client;
}
