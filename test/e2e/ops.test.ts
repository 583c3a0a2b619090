// Operations end to end: a proxy with two worker processes (requests spread over the workers,
// stats added up across them, a crashed worker replaced), the admin endpoint (/ready,
// /server_info, /stats, /stats/prometheus, /listeners, /clusters, /config_dump that `egts proxy -c`
// reads back), configuration changes over ADS reaching every worker, a removed listener draining,
// and a graceful shutdown on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TYPE_URL } from '../../src/xds/proto/index.js';
import { makeSnapshot, XdsServer } from '../../src/xds/server/index.js';
import { repoRoot } from '../support/corpus.js';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { request, sleep, startEcho, startProxy, type Echo, type Proc, type ProxyProc } from './support.js';
import { UdpClient, tcpConnect, tcpListener, tcpProxy, udpListener } from './l4_support.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/until.js';

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const r = await request(port, { path, method });
  return { status: r.status, body: r.body };
}

function statValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}: `));
  return line === undefined ? undefined : Number(line.slice(name.length + 2));
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('operations: workers, stats and admin', () => {
  let h1: Echo, t1: Echo, proxy: ProxyProc, admin: number, http1: number;

  before(async () => {
    [h1, t1] = await Promise.all([startEcho('ops-http'), startEcho('ops-tcp', ['--tcp', '0', '--udp', '0'])]);
    proxy = await startProxy({
      listeners: [
        httpListener('http', 'routes'),
        tcpListener('tcp', [{ name: 'tcp', filters: [tcpProxy('c-tcp', 'tcp-ops')] }]),
        udpListener('udp', 'c-udp', { statPrefix: 'udp-ops' }),
      ],
      routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [route('r', { prefix: '/' }, forward('c-http'))] }])],
      clusters: [cluster('c-http'), cluster('c-tcp'), cluster('c-udp')],
      endpoints: [
        endpoints('c-http', [{ host: '127.0.0.1', port: h1.http }]),
        endpoints('c-tcp', [{ host: '127.0.0.1', port: t1.tcp! }]),
        endpoints('c-udp', [{ host: '127.0.0.1', port: t1.udp! }]),
      ],
    }, ['--concurrency', '2', '--admin-address', '127.0.0.1:0']);
    admin = Number(/admin on port (\d+)/.exec(proxy.output())![1]);
    http1 = proxy.ports.http!;
  });

  after(async () => {
    await Promise.all([proxy, h1, t1].map((p) => p?.close()));
  });

  test('connections are spread over the workers and stats are added up across them', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await request(http1, { path: `/r/${i}` })).status, 200);
    for (let i = 0; i < 3; i++) {
      const c = await tcpConnect(proxy.ports.tcp!, `t${i}`);
      await c.waitFor(`ops-tcp:t${i}`);
      c.socket.destroy();
    }
    const u = new UdpClient(proxy.ports.udp!);
    u.send('d');
    await u.waitReplies(1);
    u.close();
    const addr = `127.0.0.1_${http1}`;
    await until('stats', async () => statValue((await get(admin, '/stats')).body, 'tcp.tcp-ops.downstream_cx_total') === 3);
    const text = (await get(admin, '/stats')).body;
    assert.equal(statValue(text, 'cluster.c-http.upstream_rq_total'), 20);
    assert.equal(statValue(text, 'cluster.c-http.upstream_rq_2xx'), 20);
    assert.equal(statValue(text, 'http.http-http.downstream_rq_2xx'), 20);
    assert.equal(statValue(text, `listener.${addr}.downstream_cx_total`), 20);
    assert.ok(statValue(text, `listener.${addr}.worker_0.downstream_cx_total`)! > 0, 'worker 0 served');
    assert.ok(statValue(text, `listener.${addr}.worker_1.downstream_cx_total`)! > 0, 'worker 1 served');
    assert.equal(statValue(text, 'udp.udp-ops.downstream_sess_total'), 1);
    assert.equal(statValue(text, 'cluster.c-http.membership_total'), 1, 'configuration gauges are not multiplied by the workers');
    assert.equal(statValue(text, 'server.concurrency'), 2);
    const prom = (await get(admin, '/stats/prometheus')).body;
    assert.match(prom, /^# TYPE envoy_cluster_upstream_rq_total counter$/m);
    assert.match(prom, /^envoy_cluster_upstream_rq_total\{envoy_cluster_name="c-http"\} 20$/m);
    assert.match(prom, /^envoy_cluster_upstream_rq_xx\{envoy_response_code_class="2",envoy_cluster_name="c-http"\} 20$/m);
    assert.match(prom, /^envoy_http_downstream_rq_xx\{envoy_response_code_class="2",envoy_http_conn_manager_prefix="http-http"\} 20$/m);
    assert.match(prom, new RegExp(`^envoy_listener_downstream_cx_total\\{envoy_listener_address="${addr.replace(/\./g, '\\.')}"\\} 20$`, 'm'));
    assert.match(prom, /^envoy_tcp_downstream_cx_total\{envoy_tcp_prefix="tcp-ops"\} 3$/m);
    assert.match(prom, /^envoy_udp_downstream_sess_total\{envoy_udp_prefix="udp-ops"\} 1$/m);
    assert.match(prom, /^# TYPE envoy_cluster_membership_healthy gauge$/m);
    const json = JSON.parse((await get(admin, '/stats?format=json&filter=^cluster\\.c-tcp\\.')).body);
    assert.ok(json.stats.length > 0 && json.stats.every((s: { name: string }) => s.name.startsWith('cluster.c-tcp.')));
  });

  test('admin: ready, server info, listeners, clusters', async () => {
    assert.deepEqual(await get(admin, '/ready'), { status: 200, body: 'LIVE\n' });
    const info = JSON.parse((await get(admin, '/server_info')).body);
    assert.equal(info.state, 'LIVE');
    assert.equal(info.commandLineOptions.concurrency, 2);
    const listeners = (await get(admin, '/listeners')).body;
    assert.match(listeners, new RegExp(`^http::127\\.0\\.0\\.1:${http1}$`, 'm'));
    assert.match(listeners, /^udp::127\.0\.0\.1:\d+$/m);
    const clusters = (await get(admin, '/clusters')).body;
    assert.match(clusters, /^c-http::default_priority::max_connections::1024$/m);
    assert.match(clusters, new RegExp(`^c-http::127\\.0\\.0\\.1:${h1.http}::health_flags::healthy$`, 'm'));
    assert.match(clusters, new RegExp(`^c-http::127\\.0\\.0\\.1:${h1.http}::rq_total::20$`, 'm'));
    const cj = JSON.parse((await get(admin, '/clusters?format=json')).body);
    assert.ok(cj.clusterStatuses.some((c: { name: string }) => c.name === 'c-tcp'));
    assert.equal((await get(admin, '/quitquitquit')).status, 405, 'state changes need POST');
    assert.equal((await get(admin, '/no/such/path')).status, 404);
  });

  test('admin: /config_dump in Envoy\'s shape, and egts proxy -c reads it back', async () => {
    const dump = JSON.parse((await get(admin, '/config_dump')).body);
    assert.deepEqual(dump.configs.map((c: { '@type': string }) => c['@type'].split('.').pop()),
      ['BootstrapConfigDump', 'ClustersConfigDump', 'ListenersConfigDump', 'RoutesConfigDump', 'SecretsConfigDump']);
    const listeners = dump.configs[2].staticListeners;
    assert.deepEqual(listeners.map((l: { listener: { name: string } }) => l.listener.name).sort(), ['http', 'tcp', 'udp']);
    assert.equal(listeners[0].listener['@type'], 'type.googleapis.com/envoy.config.listener.v3.Listener');
    assert.ok(listeners[0].lastUpdated);
    const eds = JSON.parse((await get(admin, '/config_dump?include_eds')).body);
    assert.equal(eds.configs[2]['@type'], 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump');
    assert.equal(eds.configs[2].staticEndpointConfigs.length, 3);
    const only = JSON.parse((await get(admin, '/config_dump?resource=static_clusters&name_regex=^c-tcp$')).body);
    assert.equal(only.configs.length, 1);
    assert.equal(only.configs[0].cluster.name, 'c-tcp');
    // The dump is a configuration: another proxy runs from it.
    const copy = await startProxy(eds, ['--concurrency', '1']);
    try {
      const r = await request(copy.ports.http!, { path: '/from-dump' });
      assert.equal(r.status, 200);
      assert.equal(r.json().backend, 'ops-http');
    } finally {
      await copy.close();
    }
  });

  test('a worker that dies is replaced and traffic goes on', async () => {
    const before = children(proxy.proc.pid!);
    assert.equal(before.length, 2, `two workers: ${before}`);
    process.kill(before[0]!, 'SIGKILL');
    // A connection handed to the worker as it died is lost with it; once the primary knows, none is.
    await until('the primary noticed', async () => /worker \d exited; starting it again/.test(proxy.output()));
    for (let i = 0; i < 10; i++) assert.equal((await request(http1, { path: `/after-crash/${i}` })).status, 200);
    await until('a new worker', async () => children(proxy.proc.pid!).length === 2 && !children(proxy.proc.pid!).includes(before[0]!));
    const served = async () => {
      const t = (await get(admin, '/stats?filter=worker_')).body;
      return [0, 1].map((w) => statValue(t, `listener.127.0.0.1_${http1}.worker_${w}.downstream_cx_total`) ?? 0);
    };
    await until('the new worker serving', async () => {
      const a = await served();
      for (let i = 0; i < 6; i++) assert.equal((await request(http1, { path: '/spread' })).status, 200);
      const b = await served();
      return b[0]! > a[0]! && b[1]! > a[1]!;
    });
  });

  test('SIGTERM: stops accepting, lets requests in flight finish, then exits', async () => {
    const slow = request(http1, { path: '/slow', headers: { 'x-echo-delay-ms': '700' } });
    await sleep(150);
    const exited = new Promise<number | null>((r) => proxy.proc.once('exit', (code) => r(code)));
    const started = Date.now();
    proxy.proc.kill('SIGTERM');
    await sleep(150);
    await assert.rejects(request(http1, { path: '/late', timeoutMs: 1000 }), 'new connections are refused while draining');
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
    assert.equal(await exited, 0);
    assert.ok(Date.now() - started < 4000, 'exits once drained, before the drain time');
  });
});

function startAdsProxy(xds: number, key: string): Promise<Proc> {
  const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'proxy', '--xds-server', `127.0.0.1:${xds}`, '--service-cluster', key,
    '--xds-protocol', 'delta', '--concurrency', '2', '--drain-time-s', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const p: Proc = { proc, output: () => out, close: () => new Promise((r) => { if (proc.exitCode !== null) r(); else { proc.once('exit', () => r()); proc.kill('SIGKILL'); } }) };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void p.close(); reject(new Error(`proxy not ready in time: ${out}`)); }, 15000);
    proc.stderr.on('data', () => { if (out.includes('egts proxy: ready')) { clearTimeout(timer); resolve(p); } });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`proxy exited ${code}: ${out}`)); });
  });
}

describe('operations over ADS with workers', () => {
  let server: XdsServer, xdsPort: number, echo: Echo, version = 0;

  function publish(key: string, listeners: object[], header: string): void {
    const { snapshot, problems } = makeSnapshot(String(++version), {
      [TYPE_URL.listener]: listeners,
      [TYPE_URL.route]: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [route('r', { prefix: '/' }, forward('echo'), { responseHeadersToAdd: [{ header: { key: 'x-version', value: header } }] })] }])],
      [TYPE_URL.cluster]: [cluster('echo')],
      [TYPE_URL.endpoint]: [endpoints('echo', [{ host: '127.0.0.1', port: echo.http }])],
    });
    assert.deepEqual(problems, []);
    server.cache.set(key, snapshot);
  }

  before(async () => {
    echo = await startEcho('ops-ads');
    server = new XdsServer();
    xdsPort = await server.listen('127.0.0.1:0');
  });

  after(async () => { await echo?.close(); await server?.close(); });

  test('a change reaches every worker, and a removed listener drains its requests', async () => {
    const key = 'default/ops';
    const [p1, p2] = [await freePort(), await freePort()];
    publish(key, [httpListener('main', 'routes', { port: p1 }), httpListener('extra', 'routes', { port: p2 })], 'v1');
    const proxy = await startAdsProxy(xdsPort, key);
    try {
      await until('v1 served', async () => (await request(p1, { path: '/' })).headers['x-version'] === 'v1');
      publish(key, [httpListener('main', 'routes', { port: p1 }), httpListener('extra', 'routes', { port: p2 })], 'v2');
      await until('v2 served', async () => (await request(p1, { path: '/' })).headers['x-version'] === 'v2');
      // Fresh connections land on both workers: every one of them has the change.
      for (let i = 0; i < 10; i++) assert.equal((await request(p1, { path: `/w/${i}` })).headers['x-version'], 'v2');
      const slow = request(p2, { path: '/slow', headers: { 'x-echo-delay-ms': '700' } });
      await sleep(150);
      publish(key, [httpListener('main', 'routes', { port: p1 })], 'v3');
      await until('extra removed', async () => {
        try { await request(p2, { path: '/', timeoutMs: 500 }); return false; } catch { return true; }
      }, 3000);
      const r = await slow;
      assert.equal(r.status, 200, 'the request in flight on the removed listener finished');
      assert.equal(r.headers['x-version'], 'v2');
    } finally {
      await proxy.close();
    }
  });
});

