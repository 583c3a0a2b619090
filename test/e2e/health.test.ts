// Upstream health end to end: active health checks keep an unhealthy backend out of rotation
// and bring it back once it passes; outlier detection ejects a backend answering 5xx; circuit
// breakers refuse what is over their thresholds (503 with x-envoy-overloaded for HTTP, a closed
// connection for TCP). Echo backends and the proxy are real processes over loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { request, sleep, startEcho, startProxy, type Echo, type ProxyProc } from './support.js';
import { tcpConnect, tcpListener, tcpProxy } from './l4_support.js';

const ROUTER_WITH_ENVOY_HEADERS = [{ name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }];

describe('upstream health through egts proxy', () => {
  let good: Echo, sick: Echo, failing: Echo, slow: Echo, tcp: Echo, proxy: ProxyProc, port: number;
  const echoes: Echo[] = [];

  before(async () => {
    [good, sick, failing, slow, tcp] = await Promise.all([
      startEcho('good'), startEcho('sick', ['--http', '0', '--status', '503']), startEcho('failing', ['--http', '0', '--status', '500']),
      startEcho('slow'), startEcho('tcp', ['--tcp', '0']),
    ]);
    echoes.push(good, sick, failing, slow, tcp);
    const be = (e: Echo) => ({ host: '127.0.0.1', port: e.http });
    const hc = { interval: '0.1s', timeout: '0.5s', noTrafficInterval: '0.1s', unhealthyThreshold: 2, healthyThreshold: 1, httpHealthCheck: { path: '/healthz', expectedStatuses: [{ start: '200', end: '300' }] } };
    proxy = await startProxy({
      listeners: [
        httpListener('http', 'routes', { hcm: { httpFilters: ROUTER_WITH_ENVOY_HEADERS } }),
        tcpListener('tcp', [{ name: 'tcp', filters: [tcpProxy('c-tcp-cb', 'tcp-cb')] }]),
      ],
      routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [
        route('hc', { prefix: '/hc' }, forward('c-hc')),
        route('od', { prefix: '/od' }, forward('c-od')),
        route('cb', { prefix: '/cb' }, forward('c-cb')),
      ] }])],
      clusters: [
        cluster('c-hc', { healthChecks: [hc] }),
        cluster('c-od', { outlierDetection: { consecutive5xx: 3, interval: '1s', baseEjectionTime: '30s', maxEjectionPercent: 100, consecutiveGatewayFailure: 0, enforcingConsecutiveGatewayFailure: 100 } }),
        cluster('c-cb', { circuitBreakers: { thresholds: [{ maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 1024 }] } }),
        cluster('c-tcp-cb', { circuitBreakers: { thresholds: [{ maxConnections: 1 }] } }),
      ],
      endpoints: [
        endpoints('c-hc', [be(good), be(sick)]),
        endpoints('c-od', [be(good), be(failing)]),
        endpoints('c-cb', [be(slow)]),
        endpoints('c-tcp-cb', [{ host: '127.0.0.1', port: tcp.tcp! }]),
      ],
    }, ['--concurrency', '1']);
    port = proxy.ports.http!;
  });

  after(async () => {
    await Promise.all([proxy, ...echoes].map((p) => p?.close()));
  });

  test('active HTTP health checks keep a failing backend out, and let it back once it passes', async () => {
    await sleep(400); // first checks
    for (let i = 0; i < 20; i++) {
      const r = await request(port, { path: '/hc' });
      assert.equal(r.status, 200);
      assert.equal(r.json().backend, 'good');
    }
    // The sick backend is replaced by a healthy one on the same port.
    const sickPort = sick.http;
    await sick.close();
    const healed = await startEcho('healed', ['--http', String(sickPort)]);
    echoes.push(healed);
    const seen = new Set<string>();
    const start = Date.now();
    while (!seen.has('healed') && Date.now() - start < 5000) {
      const r = await request(port, { path: '/hc' });
      assert.equal(r.status, 200);
      seen.add(r.json().backend);
    }
    assert.ok(seen.has('healed'), 'the healed backend gets traffic again');
  });

  test('outlier detection ejects a backend after consecutive 5xx', async () => {
    let failures = 0;
    let okInARow = 0;
    for (let i = 0; i < 200 && okInARow < 30; i++) {
      const r = await request(port, { path: '/od' });
      if (r.status === 500) { failures++; okInARow = 0; } else { assert.equal(r.status, 200); okInARow++; }
    }
    assert.equal(failures, 3, 'exactly consecutive_5xx failures before the ejection');
    assert.equal(okInARow, 30);
  });

  test('HTTP circuit breaker: a request over max_requests gets 503 with x-envoy-overloaded', async () => {
    const [a, b] = await Promise.all([
      request(port, { path: '/cb/1', headers: { 'x-echo-delay-ms': '400' } }),
      sleep(100).then(() => request(port, { path: '/cb/2' })),
    ]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 503);
    assert.equal(b.headers['x-envoy-overloaded'], 'true');
    assert.match(b.body, /overflow/);
    assert.equal((await request(port, { path: '/cb/3' })).status, 200, 'fine again once the first finished');
  });

  test('TCP circuit breaker: a connection over max_connections is closed', async () => {
    const first = await tcpConnect(proxy.ports.tcp!, 'one');
    await first.waitFor('tcp:one');
    const second = await tcpConnect(proxy.ports.tcp!, 'two');
    assert.equal(await second.closed(), '');
    first.socket.destroy();
    await sleep(100);
    const third = await tcpConnect(proxy.ports.tcp!, 'three');
    await third.waitFor('tcp:three');
    third.socket.destroy();
  });
});

describe('upstream health with worker processes', () => {
  let good: Echo, sick: Echo, failing: Echo, proxy: ProxyProc, port: number;

  before(async () => {
    [good, sick, failing] = await Promise.all([startEcho('good'), startEcho('sick', ['--http', '0', '--status', '503']), startEcho('failing', ['--http', '0', '--status', '500'])]);
    const be = (e: Echo) => ({ host: '127.0.0.1', port: e.http });
    proxy = await startProxy({
      listeners: [httpListener('http', 'routes')],
      routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [route('hc', { prefix: '/hc' }, forward('c-hc')), route('od', { prefix: '/od' }, forward('c-od'))] }])],
      clusters: [
        cluster('c-hc', { healthChecks: [{ interval: '0.1s', timeout: '0.5s', noTrafficInterval: '0.1s', unhealthyThreshold: 2, healthyThreshold: 1, httpHealthCheck: { path: '/healthz' } }] }),
        cluster('c-od', { outlierDetection: { consecutive5xx: 3, interval: '1s', baseEjectionTime: '30s', maxEjectionPercent: 100 } }),
      ],
      endpoints: [endpoints('c-hc', [be(good), be(sick)]), endpoints('c-od', [be(good), be(failing)])],
    }, ['--concurrency', '2']);
    port = proxy.ports.http!;
  });

  after(async () => { await Promise.all([proxy, good, sick, failing].map((p) => p?.close())); });

  test('the primary checks and every worker keeps the failing backend out', async () => {
    await sleep(500);
    // New connections alternate between the workers.
    for (let i = 0; i < 20; i++) {
      const r = await request(port, { path: '/hc' });
      assert.equal(r.status, 200);
      assert.equal(r.json().backend, 'good');
    }
  });

  test("an ejection decided from one worker's failures applies to all workers", async () => {
    let failures = 0;
    let okInARow = 0;
    for (let i = 0; i < 200 && okInARow < 30; i++) {
      const r = await request(port, { path: '/od' });
      if (r.status === 500) { failures++; okInARow = 0; } else { assert.equal(r.status, 200); okInARow++; }
    }
    assert.ok(failures >= 3 && failures <= 6, `${failures} failures before the ejection`);
    assert.equal(okInARow, 30);
  });
});
