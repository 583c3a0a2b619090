// Clusters for services that policies name by URL only (a JWKS, an OAuth2 token endpoint):
// named host_port, IPv4 hosts as static endpoints and names resolved by DNS, https checked
// against the system trust store with the host as SNI.
import type { Context } from './context.js';
import { systemTrustStorePath } from './tls.js';
import { typed } from './util.js';

export interface URLCluster {
  name: string;
  host: string;
  port: number;
  tls: boolean;
  /** An IPv4 address: static endpoints; otherwise resolved by DNS. */
  isIP: boolean;
}

export function urlCluster(uri: string): URLCluster {
  const u = new URL(uri);
  const tls = u.protocol === 'https:';
  const port = u.port ? Number(u.port) : tls ? 443 : 80;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { name: `${host.replaceAll('.', '_')}_${port}`, host, port, tls, isIP: /^\d+\.\d+\.\d+\.\d+$/.test(host) };
}

export function addURLCluster(ctx: Context, c: URLCluster): void {
  if (ctx.table.has('clusters', c.name)) return;
  ctx.addCluster({
    name: c.name,
    settings: [{ name: `${c.name}/backend/-1`, addressType: c.isIP ? 'IP' : 'FQDN', endpoints: [{ host: c.host, port: c.port }], weight: 1 }],
    endpointType: c.isIP ? 'static' : 'dns',
    transportSocket: c.tls
      ? {
          name: 'envoy.transport_sockets.tls',
          typedConfig: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
            commonTlsContext: { tlsParams: { tlsMaximumProtocolVersion: 'TLSv1_3' }, validationContext: { trustedCa: { filename: systemTrustStorePath } } },
            sni: c.host,
          }),
        }
      : undefined,
  });
}
