// egts's built-in proxy, configured with the Envoy resources Envoy Gateway writes for HTTPRoutes
// (HCM with its settings, a route configuration of virtual hosts, EDS clusters with
// least-request, SDS certificates), one worker pinned to the proxy CPU.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPinned, waitForPort } from '../../common/proc.js';
import { routingTable, type Scenario } from '../scenarios.js';
import type { Peer, PeerContext } from './types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const ADS = { ads: {}, resourceApiVersion: 'V3' };
const TYPE = 'type.googleapis.com/envoy.extensions';

/** The proxy's configuration for a scenario, as `egts proxy -c` reads it. */
export function egtsConfig(s: Scenario, port: number, backendPort: number, tls?: { cert: string; key: string }): object {
  const table = routingTable(s);
  const hcm = {
    '@type': `${TYPE}.filters.network.http_connection_manager.v3.HttpConnectionManager`,
    commonHttpProtocolOptions: { headersWithUnderscoresAction: 'REJECT_REQUEST' },
    http2ProtocolOptions: { initialConnectionWindowSize: 1048576, initialStreamWindowSize: 65536, maxConcurrentStreams: 100 },
    httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': `${TYPE}.filters.http.router.v3.Router`, suppressEnvoyHeaders: true } }],
    mergeSlashes: true,
    normalizePath: true,
    pathWithEscapedSlashesAction: 'UNESCAPE_AND_REDIRECT',
    rds: { configSource: { ...ADS, initialFetchTimeout: '0s' }, routeConfigName: 'default/eg/http' },
    serverHeaderTransformation: 'PASS_THROUGH',
    statPrefix: s.tls ? 'https-443' : 'http-80',
    useRemoteAddress: true,
  };
  const chain: Record<string, unknown> = { name: 'default/eg/http', filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm }] };
  const listener: Record<string, unknown> = {
    name: 'default/eg/http',
    address: { socketAddress: { address: '127.0.0.1', portValue: port } },
    maxConnectionsToAcceptPerSocketEvent: 1,
    perConnectionBufferLimitBytes: 32768,
  };
  const secrets: object[] = [];
  if (tls) {
    chain.transportSocket = { name: 'envoy.transport_sockets.tls', typedConfig: {
      '@type': `${TYPE}.transport_sockets.tls.v3.DownstreamTlsContext`,
      commonTlsContext: { alpnProtocols: ['h2', 'http/1.1'], tlsCertificateSdsSecretConfigs: [{ name: 'default/eg-cert', sdsConfig: ADS }] },
      disableStatefulSessionResumption: true,
      disableStatelessSessionResumption: true,
    } };
    listener.filterChains = [chain];
    listener.listenerFilters = [{ name: 'envoy.filters.listener.tls_inspector', typedConfig: { '@type': `${TYPE}.filters.listener.tls_inspector.v3.TlsInspector` } }];
    secrets.push({ name: 'default/eg-cert', tlsCertificate: { certificateChain: { inlineString: tls.cert }, privateKey: { inlineString: tls.key } } });
  } else {
    listener.defaultFilterChain = chain;
  }
  const routes = table.flatMap((vh) => vh.routes);
  return {
    listeners: [listener],
    routes: [{
      name: 'default/eg/http',
      ignorePortInHostMatching: true,
      virtualHosts: table.map((vh) => ({
        name: `default/eg/http/${vh.domain === '*' ? '*' : vh.domain.replaceAll('.', '_')}`,
        domains: [vh.domain],
        routes: vh.routes.map((r) => ({
          name: `httproute/default/${r.upstream}/rule/0/match/0/${vh.domain === '*' ? '*' : vh.domain.replaceAll('.', '_')}`,
          match: r.prefix === '/' ? { prefix: '/' } : { pathSeparatedPrefix: r.prefix.slice(0, -1) },
          route: { cluster: `httproute/default/${r.upstream}/rule/0`, upgradeConfigs: [{ upgradeType: 'websocket' }] },
        })),
      })),
    }],
    clusters: routes.map((r) => ({
      name: `httproute/default/${r.upstream}/rule/0`,
      type: 'EDS',
      edsClusterConfig: { edsConfig: ADS, serviceName: `httproute/default/${r.upstream}/rule/0` },
      connectTimeout: '10s',
      circuitBreakers: { thresholds: [{ maxRetries: 1024 }] },
      commonLbConfig: {},
      dnsLookupFamily: 'V4_PREFERRED',
      ignoreHealthOnHostRemoval: true,
      loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: 'envoy.load_balancing_policies.least_request', typedConfig: {
        '@type': `${TYPE}.load_balancing_policies.least_request.v3.LeastRequest`, localityLbConfig: { localityWeightedLbConfig: {} } } } }] },
      perConnectionBufferLimitBytes: 32768,
    })),
    endpoints: routes.map((r) => ({
      clusterName: `httproute/default/${r.upstream}/rule/0`,
      endpoints: [{
        lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: backendPort } } }, loadBalancingWeight: 1 }],
        loadBalancingWeight: 1,
        locality: { region: `httproute/default/${r.upstream}/rule/0/backend/0` },
      }],
    })),
    secrets,
  };
}

export const egtsPeer: Peer = {
  id: 'egts',
  label: 'egts proxy',
  kind: 'egts',
  missing: () => undefined,
  async start(ctx: PeerContext) {
    const file = join(ctx.dir, 'egts.json');
    writeFileSync(file, JSON.stringify(egtsConfig(ctx.scenario, ctx.port, ctx.backendPort, ctx.scenario.tls ? ctx.tls : undefined)));
    // One worker: the comparison is one core against one core.
    const p = startPinned('egts proxy', ctx.cpu, process.execPath, [join(root, 'bin', 'egts.js'), 'proxy', '-c', file, '--concurrency', '1'],
      { ...process.env, EGTS_PROXY_WORKERS: '1' });
    await waitForPort(p, ctx.port);
    return p;
  },
};
