// How long encoding, validating and decoding a control plane's xDS output takes at scale:
// 10,000 routes in one RouteConfiguration (Envoy Gateway's shape: one virtual host per hostname,
// header and prefix matches, per-route timeouts and header mutations), a cluster and a
// ClusterLoadAssignment per route. Run: node dist/bench/xds-proto.bench.js [routes]
import { TYPE_URL, checkResource, fromBinary, preload, toBinary, validate } from '../src/xds/proto/index.js';
import { makeSnapshot } from '../src/xds/server/snapshot.js';

const routes = Number(process.argv[2] ?? 10_000);
const hosts = Math.max(1, Math.floor(routes / 100));

function route(i: number) {
  return {
    name: `httproute/default/route-${i}/rule/0/match/0/www_example_com`,
    match: {
      pathSeparatedPrefix: `/api/v${i}`,
      headers: [{ name: 'x-tenant', stringMatch: { exact: `t${i % 17}` } }],
    },
    route: {
      cluster: `httproute/default/route-${i}/rule/0`,
      timeout: '15s',
      upgradeConfigs: [{ upgradeType: 'websocket' }],
      retryPolicy: { retryOn: '5xx,reset', numRetries: 2, perTryTimeout: '1.500s', retriableStatusCodes: [503] },
    },
    requestHeadersToAdd: [{ header: { key: 'x-route', value: String(i) }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    metadata: { filterMetadata: { 'envoy-gateway': { resources: [{ kind: 'HTTPRoute', name: `route-${i}`, namespace: 'default' }] } } },
  };
}

const routeConfig = {
  name: 'default/eg/http',
  ignorePortInHostMatching: true,
  virtualHosts: Array.from({ length: hosts }, (_, h) => ({
    name: `default/eg/http/host-${h}_example_com`,
    domains: [`host-${h}.example.com`],
    routes: Array.from({ length: routes / hosts }, (_, j) => route(h * (routes / hosts) + j)),
  })),
};
const clusters = Array.from({ length: routes }, (_, i) => ({
  name: `httproute/default/route-${i}/rule/0`,
  type: 'EDS',
  connectTimeout: '10s',
  edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: `httproute/default/route-${i}/rule/0` },
  lbPolicy: 'LEAST_REQUEST',
  circuitBreakers: { thresholds: [{ maxRetries: 1024 }] },
  perConnectionBufferLimitBytes: 32768,
  commonLbConfig: {},
  ignoreHealthOnHostRemoval: true,
}));
const endpoints = clusters.map((c, i) => ({
  clusterName: c.name,
  endpoints: [{ loadBalancingWeight: 1, locality: { region: `${c.name}/backend/0` }, lbEndpoints: [
    { endpoint: { address: { socketAddress: { address: `10.0.${(i >> 8) & 255}.${i & 255}`, portValue: 8080 } } }, loadBalancingWeight: 1 },
  ] }],
}));

function time<T>(label: string, fn: () => T, reps = 5): T {
  fn(); // warm up: the first run compiles the per-type tables and JITs the walkers
  let result!: T;
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    result = fn();
    best = Math.min(best, performance.now() - start);
  }
  console.log(`${label.padEnd(44)} ${best.toFixed(1).padStart(8)} ms   ${(best / (routes / 1000)).toFixed(2).padStart(7)} ms per 1000 routes`);
  return result;
}

console.log(`load Envoy's API: ${preload().toFixed(1)} ms`);
console.log(`${routes} routes, ${hosts} virtual hosts, ${routes} clusters and endpoint sets`);
const bytes = time('encode RouteConfiguration (toBinary)', () => toBinary(TYPE_URL.route, routeConfig));
console.log(`  RouteConfiguration: ${(bytes.length / 1e6).toFixed(2)} MB binary, ${(JSON.stringify(routeConfig).length / 1e6).toFixed(2)} MB JSON`);
time('validate RouteConfiguration (PGV rules)', () => validate(TYPE_URL.route, routeConfig));
time('decode RouteConfiguration (fromBinary)', () => fromBinary(TYPE_URL.route, bytes));
time('encode + validate clusters', () => clusters.map((c) => checkResource(TYPE_URL.cluster, c)));
time('encode + validate endpoints', () => endpoints.map((e) => checkResource(TYPE_URL.endpoint, e)));
time('makeSnapshot (everything, both wire forms)', () => makeSnapshot('1', {
  [TYPE_URL.route]: [routeConfig], [TYPE_URL.cluster]: clusters, [TYPE_URL.endpoint]: endpoints,
}));
