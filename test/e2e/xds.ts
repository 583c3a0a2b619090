// Envoy configuration for the e2e tests, in the shape Envoy Gateway's translator writes it
// (HCM with RDS over ADS, EDS clusters with a locality per backend, least request), served to
// the proxy as a config dump-like document: {listeners, routes, clusters, endpoints, secrets}.
// Tests build their scenarios from these pieces until they use `egts translate` output.

const ADS = { ads: {}, resourceApiVersion: 'V3' };

export interface Backend { host: string; port: number; weight?: number }

export function httpListener(name: string, routeConfigName: string, opts: { port?: number; filters?: object[]; hcm?: object; tls?: object; serverNames?: string[] } = {}): object {
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    commonHttpProtocolOptions: { headersWithUnderscoresAction: 'REJECT_REQUEST' },
    http2ProtocolOptions: { initialConnectionWindowSize: 1048576, initialStreamWindowSize: 65536, maxConcurrentStreams: 100 },
    httpFilters: [
      ...(opts.filters ?? []),
      { name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', suppressEnvoyHeaders: true } },
    ],
    mergeSlashes: true,
    normalizePath: true,
    pathWithEscapedSlashesAction: 'UNESCAPE_AND_REDIRECT',
    rds: { configSource: { ...ADS, initialFetchTimeout: '0s' }, routeConfigName },
    serverHeaderTransformation: 'PASS_THROUGH',
    statPrefix: `http-${name}`,
    useRemoteAddress: true,
    ...(opts.hcm ?? {}),
  };
  const chain: Record<string, unknown> = { filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: hcm }], name };
  if (opts.tls) chain.transportSocket = { name: 'envoy.transport_sockets.tls', typedConfig: opts.tls };
  if (opts.serverNames) chain.filterChainMatch = { serverNames: opts.serverNames };
  return {
    name,
    address: { socketAddress: { address: '127.0.0.1', portValue: opts.port ?? 0 } },
    ...(opts.tls ? { filterChains: [chain], listenerFilters: [{ name: 'envoy.filters.listener.tls_inspector', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }] } : { defaultFilterChain: chain }),
    maxConnectionsToAcceptPerSocketEvent: 1,
    perConnectionBufferLimitBytes: 32768,
  };
}

export function cluster(name: string, extra: object = {}): object {
  return {
    name,
    type: 'EDS',
    edsClusterConfig: { edsConfig: ADS, serviceName: name },
    connectTimeout: '2s',
    circuitBreakers: { thresholds: [{ maxRetries: 1024 }] },
    commonLbConfig: {},
    dnsLookupFamily: 'V4_PREFERRED',
    ignoreHealthOnHostRemoval: true,
    loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: 'envoy.load_balancing_policies.least_request', typedConfig: {
      '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', localityLbConfig: { localityWeightedLbConfig: {} } } } }] },
    perConnectionBufferLimitBytes: 32768,
    ...extra,
  };
}

/** One locality per backend, weighted like Envoy Gateway's backendRefs. */
export function endpoints(name: string, backends: Backend[]): object {
  return {
    clusterName: name,
    endpoints: backends.map((b, i) => ({
      lbEndpoints: [{ endpoint: { address: { socketAddress: { address: b.host, portValue: b.port } } }, loadBalancingWeight: 1 }],
      loadBalancingWeight: b.weight ?? 1,
      locality: { region: `${name}/backend/${i}` },
    })),
  };
}

export function route(name: string, match: object, action: object, extra: object = {}): object {
  return { name, match, ...action, ...extra };
}

export function forward(clusterName: string, extra: object = {}): object {
  return { route: { cluster: clusterName, upgradeConfigs: [{ upgradeType: 'websocket' }], ...extra } };
}

export function routeConfig(name: string, virtualHosts: { name: string; domains: string[]; routes: object[]; [k: string]: unknown }[]): object {
  return { name, ignorePortInHostMatching: true, virtualHosts };
}
