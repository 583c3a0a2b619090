// Upstream discovery and load balancing end to end: STRICT_DNS clusters, Unix socket
// endpoints, consistent hashing (ring hash and Maglev) with header hash policies, and priority
// failover when EDS marks the primary endpoints unhealthy.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cluster, forward, httpListener, route, routeConfig } from './xds.js';
import { request, startEcho, startProxy, type Echo, type ProxyProc } from './support.js';

const lb = (type: string) => ({ loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: type, typedConfig: { '@type': `type.googleapis.com/envoy.extensions.load_balancing_policies.${type}` } } }] } });

describe('upstream discovery and load balancing', () => {
  let a: Echo, b: Echo, c: Echo, unix: Echo, proxy: ProxyProc, port: number;
  const sock = join(mkdtempSync(join(tmpdir(), 'egts-uds-')), 'echo.sock');

  before(async () => {
    [a, b, c, unix] = await Promise.all([startEcho('a'), startEcho('b'), startEcho('c'), startEcho('unix', ['--unix', sock])]);
    const ep = (e: Echo) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: e.http } } } });
    const three = { clusterName: '', endpoints: [{ lbEndpoints: [ep(a), ep(b), ep(c)] }] };
    proxy = await startProxy({
      listeners: [httpListener('http', 'routes')],
      routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [
        route('dns', { prefix: '/dns' }, forward('dns')),
        route('unix', { prefix: '/unix' }, forward('unix')),
        route('ring', { prefix: '/ring' }, forward('ring', { hashPolicy: [{ header: { headerName: 'x-user' } }] })),
        route('maglev', { prefix: '/maglev' }, forward('maglev', { hashPolicy: [{ header: { headerName: 'x-user' } }] })),
        route('priority', { prefix: '/priority' }, forward('priority')),
        route('connect-retry', { prefix: '/connect-retry' }, forward('half-dead', { retryPolicy: { retryOn: 'connect-failure', numRetries: 3,
          retryBackOff: { baseInterval: '0.005s' }, retryHostPredicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }], hostSelectionRetryMaxAttempts: 5 } })),
        route('cookie', { prefix: '/cookie' }, forward('ring', { hashPolicy: [{ cookie: { name: 'session', ttl: '3600s', path: '/' } }] })),
      ] }])],
      clusters: [
        { ...cluster('dns'), type: 'STRICT_DNS', edsClusterConfig: undefined, dnsLookupFamily: 'V4_ONLY',
          loadAssignment: { clusterName: 'dns', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: 'localhost', portValue: a.http } } } }] }] } },
        { ...cluster('unix'), type: 'STATIC', edsClusterConfig: undefined, loadAssignment: { clusterName: 'unix', endpoints: [{ lbEndpoints: [{ endpoint: { address: { pipe: { path: sock } } } }] }] } },
        { ...cluster('ring'), ...lb('ring_hash.v3.RingHash') },
        { ...cluster('maglev'), ...lb('maglev.v3.Maglev') },
        cluster('priority'),
        { ...cluster('half-dead'), ...lb('round_robin.v3.RoundRobin') },
      ],
      endpoints: [
        { ...three, clusterName: 'ring' },
        { ...three, clusterName: 'maglev' },
        { clusterName: 'half-dead', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 1 } } } }, ep(b)] }] },
        { clusterName: 'priority', endpoints: [
          { priority: 0, lbEndpoints: [{ ...ep(a), healthStatus: 'UNHEALTHY' }, { ...ep(b), healthStatus: 'UNHEALTHY' }] },
          { priority: 1, lbEndpoints: [ep(c)] },
        ] },
      ],
    });
    port = proxy.ports.http!;
  });

  after(async () => { await Promise.all([proxy, a, b, c, unix].map((p) => p?.close())); });

  test('STRICT_DNS cluster resolves its endpoint name', async () => {
    let r;
    for (let i = 0; i < 40; i++) { r = await request(port, { path: '/dns' }); if (r.status === 200) break; await new Promise((x) => setTimeout(x, 50)); }
    assert.equal(r!.json().backend, 'a');
  });

  test('Unix socket endpoints', async () => {
    assert.equal((await request(port, { path: '/unix' })).json().backend, 'unix');
  });

  for (const kind of ['ring', 'maglev']) {
    test(`${kind} hash: a user sticks to one backend, users spread over all`, async () => {
      const seen = new Set<string>();
      for (let u = 0; u < 30; u++) {
        const first = (await request(port, { path: `/${kind}`, headers: { 'x-user': `user-${u}` } })).json().backend;
        for (let i = 0; i < 3; i++) assert.equal((await request(port, { path: `/${kind}`, headers: { 'x-user': `user-${u}` } })).json().backend, first);
        seen.add(first);
      }
      assert.equal(seen.size, 3);
    });
  }

  test('connect failures are retried on another host', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await request(port, { path: '/connect-retry' });
      assert.equal(r.status, 200);
      assert.equal(r.json().backend, 'b');
    }
  });

  test('cookie hash policy: the proxy sets the cookie, and the client then sticks', async () => {
    const first = await request(port, { path: '/cookie' });
    const setCookie = String(first.headers['set-cookie']);
    assert.match(setCookie, /^session="[0-9a-f]+"; Max-Age=3600; Path=\/; HttpOnly$/);
    const cookie = setCookie.split(';')[0]!;
    const backend = (await request(port, { path: '/cookie', headers: { cookie } })).json().backend;
    for (let i = 0; i < 5; i++) assert.equal((await request(port, { path: '/cookie', headers: { cookie } })).json().backend, backend);
  });

  test('priority failover: unhealthy priority 0 sends traffic to priority 1', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await request(port, { path: '/priority' })).json().backend, 'c');
  });
});
