// The bootstrap of a real Envoy run by `egts serve --proxy envoy`: the xds translator's bootstrap
// (ADS to egts's xDS server, node cluster = the IR key), with what running on this host adds:
// mTLS to the xDS server with the generated client certificate, and an admin listener on a port
// of Envoy's choosing (several proxies share the host).
import { buildBootstrap } from '../xds/translator/configdump.js';
import type { ProxyInfra } from '../ir/infra.js';
import type { ProxyLaunchOptions } from './proxy-command.js';
import { nodeId } from './proxy-command.js';

export function envoyBootstrap(irKey: string, _infra: ProxyInfra, options: ProxyLaunchOptions): string {
  const bootstrap = buildBootstrap({ key: irKey, xdsAddress: options.xdsAddress, adminAddress: '127.0.0.1:0' }) as Record<string, any>;
  bootstrap.node.id = nodeId(irKey);
  const tls = options.tls;
  if (tls) {
    const xds = bootstrap.staticResources.clusters.find((c: { name: string }) => c.name === 'xds_cluster');
    xds.transportSocket = {
      name: 'envoy.transport_sockets.tls',
      typedConfig: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        // The server certificate names localhost (and the loopback addresses).
        sni: 'localhost',
        commonTlsContext: {
          tlsCertificates: [{ certificateChain: { filename: tls.cert }, privateKey: { filename: tls.key } }],
          validationContext: { trustedCa: { filename: tls.ca }, matchTypedSubjectAltNames: [{ sanType: 'DNS', matcher: { exact: 'localhost' } }] },
          alpnProtocols: ['h2'],
        },
      },
    };
  }
  return `${JSON.stringify(bootstrap, null, 2)}\n`;
}
