// A long-running proxy must not grow with configuration churn: clusters, listeners and route
// configurations that xDS adds and removes take their stats and bookkeeping with them once
// nothing serves with them any more (Envoy frees a removed cluster's or listener's stats scope).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import v8 from 'node:v8';
import { isDeepStrictEqual } from 'node:util';
import vm from 'node:vm';
import { CLUSTER, LISTENER, ROUTE } from '../../src/proxy/config/type_urls.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { allCounters, allGauges } from '../../src/proxy/stats.js';
import { keptClusterStats } from '../../src/proxy/stats/cluster_stats.js';
import { get, startBackend, staticCluster, typed, type Backend } from './auth/harness.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Collects garbage until finalizers have run (they run on a later task) and, when given, `done`
 * holds: a drained listener's last connections may close a little later on a loaded machine, and
 * only then is what they held collectable. Gives up after `ms` (the assertion that follows fails).
 */
async function collect(done: () => boolean = () => false, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; ; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    if (i >= 3 && (done() || Date.now() > until)) return;
  }
}

function listener(i: number): object {
  return {
    name: `l${i}`,
    address: { socketAddress: { address: '127.0.0.1', portValue: 0 } },
    defaultFilterChain: {
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
          statPrefix: `churn${i}`,
          rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: `rc${i}` },
          httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: typed('envoy.extensions.filters.http.router.v3.Router') }],
        }),
      }],
    },
  };
}

function routeConfig(i: number): object {
  return {
    name: `rc${i}`,
    virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { safeRegex: { regex: `/r${i}/.*` } }, route: { cluster: `c${i}` } }] }],
  };
}

let backend: Backend;
before(async () => { backend = await startBackend(); });
after(() => backend.close());

function sizes(p: Proxy) {
  return {
    counters: allCounters().size,
    gauges: allGauges().size,
    clusterStats: keptClusterStats(),
    routeProviders: (p as unknown as { routeProviders: Map<string, unknown> }).routeProviders.size,
  };
}

test('200 rounds of adding and removing a cluster, route and listener leave the proxy as it was', async () => {
  const p = new Proxy({ drainTimeoutMs: 1000 });
  await collect();
  const baseline = sizes(p);
  for (let i = 0; i < 200; i++) {
    const problems = await p.apply([
      { type: CLUSTER, resources: [staticCluster(`c${i}`, [backend.port])], sotw: true },
      { type: ROUTE, resources: [routeConfig(i)], sotw: true },
      { type: LISTENER, resources: [listener(i)], sotw: true },
    ]);
    assert.deepEqual(problems, []);
    // Traffic through each generation: connections, streams and upstream pools come and go too.
    if (i % 10 === 0) assert.equal((await get(p.listeners.boundPort(`l${i}`)!, `/r${i}/x`)).status, 200);
    assert.deepEqual(await p.apply([
      { type: LISTENER, resources: [], sotw: true },
      { type: ROUTE, resources: [], sotw: true },
      { type: CLUSTER, resources: [], sotw: true },
    ]), []);
  }
  await collect(() => isDeepStrictEqual(sizes(p), baseline));
  assert.deepEqual(sizes(p), baseline);
  await p.close();
});

test('a changed cluster or listener goes on counting in the stats of the one it replaces', async () => {
  const p = new Proxy({ drainTimeoutMs: 1000 });
  const apply = async (timeout: string, idle: string) => assert.deepEqual(await p.apply([
    { type: CLUSTER, resources: [staticCluster('c0', [backend.port], { connectTimeout: timeout })], sotw: true },
    { type: ROUTE, resources: [routeConfig(0)], sotw: true },
    {
      type: LISTENER,
      resources: [{ ...listener(0), listenerFiltersTimeout: idle }],
      sotw: true,
    },
  ]), []);
  await apply('1s', '10s');
  const port = p.listeners.boundPort('l0')!;
  assert.equal((await get(port, '/r0/a')).status, 200);
  await apply('2s', '11s');
  await collect();
  assert.equal((await get(port, '/r0/b')).status, 200);
  assert.equal(p.clusters.get('c0')!.stats.upstream_rq_total, 2);
  assert.equal(allCounters().get('http.churn0.downstream_rq_total')?.value, 2);
  assert.equal(allCounters().get('listener.127.0.0.1_' + port + '.downstream_cx_total')?.value, 2);
  await p.close();
});

test('a cluster removed and added again starts its stats from zero, as in Envoy', async () => {
  // Names no other test here uses: stats of another test's proxy may not be collected yet.
  const p = new Proxy({ drainTimeoutMs: 1000 });
  const add = async () => assert.deepEqual(await p.apply([
    { type: CLUSTER, resources: [staticCluster('c7', [backend.port])], sotw: true },
    { type: ROUTE, resources: [routeConfig(7)], sotw: true },
    { type: LISTENER, resources: [listener(7)], sotw: true },
  ]), []);
  await collect();
  const clustersBefore = keptClusterStats();
  await add();
  assert.equal((await get(p.listeners.boundPort('l7')!, '/r7/a')).status, 200);
  assert.equal(p.clusters.get('c7')!.stats.upstream_rq_total, 1);
  assert.ok(allCounters().has('http.churn7.downstream_rq_total'));
  assert.deepEqual(await p.apply([{ type: LISTENER, resources: [], sotw: true }, { type: CLUSTER, resources: [], sotw: true }]), []);
  await collect(() => keptClusterStats() <= clustersBefore && !allCounters().has('http.churn7.downstream_rq_total'));
  await add();
  assert.equal(p.clusters.get('c7')!.stats.upstream_rq_total, 0);
  assert.equal(allCounters().get('http.churn7.downstream_rq_total')?.value, 0);
  await p.close();
});
