// Upstream health on real clusters: active HTTP and TCP health checks against real local servers
// (thresholds, expected statuses and payloads, recovery), outlier detection (consecutive 5xx,
// gateway failures, max ejection percent, ejection time and return), all in-process.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, test } from 'node:test';
import { attachClusterHealth, applyHealthFlags, HEALTH_FLAGS } from '../../src/proxy/health/cluster_health.js';
import { matchesInOrder } from '../../src/proxy/health/active.js';
import { Cluster } from '../../src/proxy/upstream/cluster.js';
import { compileCluster } from '../../src/proxy/upstream/cluster_config.js';
import { HealthFlag, type Host } from '../../src/proxy/upstream/host.js';
import { defaultPoolFactory } from '../../src/proxy/upstream/pools.js';
import { until } from '../support/until.js';

const secrets = { get: () => undefined, version: 0 };
const closers: (() => void)[] = [];
after(() => { for (const c of closers) c(); });

function staticCluster(name: string, ports: number[], extra: object): Cluster {
  const settings = compileCluster({
    name, type: 'STATIC', connectTimeout: '0.5s',
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: ports.map((p) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: p } } } })) }] },
    ...extra,
  }, () => Buffer.alloc(0));
  const c = new Cluster(settings, secrets, defaultPoolFactory);
  closers.push(() => c.close());
  return c;
}

/** An HTTP server whose health answer can be changed. */
async function healthServer(): Promise<{ port: number; status: number; body: string; hits: string[]; close(): void }> {
  const state = { port: 0, status: 200, body: 'OK', hits: [] as string[], close: () => {} };
  const server = http.createServer((req, res) => {
    state.hits.push(`${req.method} ${req.url} ${req.headers.host} ${req.headers['user-agent']}`);
    res.statusCode = state.status;
    res.end(state.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.port = (server.address() as net.AddressInfo).port;
  state.close = () => { server.closeAllConnections(); server.close(); };
  closers.push(state.close);
  return state;
}

const fast = { interval: '0.05s', timeout: '0.2s', noTrafficInterval: '0.05s' };
const healthy = (h: Host) => (h.healthFlags & (HealthFlag.ActiveHcFailed | HealthFlag.PendingActiveHc)) === 0;

test('HTTP health check: new hosts start unhealthy, pass on the first check, fail at once on a bad status, come back', async () => {
  const a = await healthServer();
  const b = await healthServer();
  b.status = 503;
  const c = staticCluster('hc-http', [a.port, b.port], { healthChecks: [{ ...fast, unhealthyThreshold: 3, healthyThreshold: 2, httpHealthCheck: { path: '/healthz', host: 'hc.example.com' } }] });
  attachClusterHealth(c, { role: 'local' });
  const [ha, hb] = c.hosts as [Host, Host];
  assert.ok(ha.healthFlags & HealthFlag.ActiveHcFailed, 'a new host starts failed');
  await until('a healthy', () => healthy(ha));
  await until('b checked', () => (hb.healthFlags & HealthFlag.PendingActiveHc) === 0);
  assert.ok(hb.healthFlags & HealthFlag.ActiveHcFailed, 'a 503 is a failure');
  assert.match(a.hits[0]!, /^GET \/healthz hc\.example\.com Envoy\/HC$/);
  for (let i = 0; i < 50; i++) assert.equal(c.chooseHost({ hash: undefined, avoid: undefined, maxAttempts: 1 }), ha);
  // A non-expected status fails a healthy host at once (no threshold), then healthy_threshold passes bring it back.
  a.status = 500;
  await until('a failed', () => (ha.healthFlags & HealthFlag.ActiveHcFailed) !== 0, 2000);
  a.status = 200;
  const before = a.hits.length;
  await until('a back', () => healthy(ha), 2000);
  assert.ok(a.hits.length - before >= 2, 'healthy_threshold 2 needs two passes');
  assert.ok(c.stats.health_check_attempt > 0 && c.stats.health_check_failure > 0 && c.stats.health_check_success > 0);
});

test('HTTP health check: expected status ranges and response payloads', async () => {
  const a = await healthServer();
  a.status = 201;
  a.body = 'Everything OK here';
  const c = staticCluster('hc-payload', [a.port], { healthChecks: [{ ...fast, unhealthyThreshold: 1, healthyThreshold: 1, httpHealthCheck: {
    path: '/h', expectedStatuses: [{ start: '200', end: '202' }], receive: [{ binary: Buffer.from('Everything').toString('base64') }, { text: Buffer.from('OK').toString('hex') }],
  } }] });
  attachClusterHealth(c, { role: 'local' });
  const h = c.hosts[0]!;
  await until('healthy', () => healthy(h));
  a.body = 'OK Everything';
  await until('payload out of order fails', () => (h.healthFlags & HealthFlag.ActiveHcFailed) !== 0, 2000);
  a.body = 'Everything is OK';
  await until('healthy again', () => healthy(h), 2000);
  a.status = 202;
  await until('202 is outside [200, 202)', () => (h.healthFlags & HealthFlag.ActiveHcFailed) !== 0, 2000);
});

test('TCP health check: connect-only, send/receive, network failures count towards the threshold', async () => {
  let reply = 'pong';
  const conns = new Set<net.Socket>();
  const server = net.createServer((s) => { conns.add(s); s.on('close', () => conns.delete(s)); s.on('data', (d) => { if (d.toString() === 'ping') s.write(reply); }); s.on('error', () => {}); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  closers.push(() => { for (const s of conns) s.destroy(); server.close(); });
  const c = staticCluster('hc-tcp', [port], { healthChecks: [{ ...fast, unhealthyThreshold: 2, healthyThreshold: 1,
    tcpHealthCheck: { send: { text: Buffer.from('ping').toString('hex') }, receive: [{ text: Buffer.from('pong').toString('hex') }] } }] });
  attachClusterHealth(c, { role: 'local' });
  const h = c.hosts[0]!;
  await until('healthy', () => healthy(h));
  reply = 'nope';
  // A wrong answer times out (the payload never arrives): a network timeout, counted twice.
  await until('unhealthy', () => (h.healthFlags & HealthFlag.ActiveHcFailed) !== 0, 3000);
  assert.ok(c.stats.health_check_network_failure >= 2);
  reply = 'pong';
  await until('healthy again', () => healthy(h), 3000);
});

test('outlier detection: consecutive 5xx eject, max ejection percent holds, hosts return after the ejection time', async () => {
  const c = staticCluster('od', [1001, 1002, 1003, 1004], { outlierDetection: { consecutive5xx: 3, interval: '0.05s', baseEjectionTime: '0.3s', maxEjectionPercent: 50 } });
  attachClusterHealth(c, { role: 'local' });
  const [h1, h2, h3, h4] = c.hosts as [Host, Host, Host, Host];
  h1.outlier!.putHttpResponseCode(500);
  h1.outlier!.putHttpResponseCode(500);
  h1.outlier!.putHttpResponseCode(200); // a success resets the count
  h1.outlier!.putHttpResponseCode(500);
  h1.outlier!.putHttpResponseCode(500);
  assert.equal(h1.healthFlags & HealthFlag.OutlierEjected, 0);
  h1.outlier!.putHttpResponseCode(503);
  assert.ok(h1.healthFlags & HealthFlag.OutlierEjected, 'three in a row eject');
  for (let i = 0; i < 30; i++) assert.notEqual(c.chooseHost({ hash: undefined, avoid: undefined, maxAttempts: 1 }), h1);
  for (let i = 0; i < 3; i++) h2.outlier!.putResult('connect-failed'); // 503 without the local-origin split
  assert.ok(h2.healthFlags & HealthFlag.OutlierEjected);
  for (let i = 0; i < 3; i++) h3.outlier!.putHttpResponseCode(502);
  assert.equal(h3.healthFlags & HealthFlag.OutlierEjected, 0, 'a third ejection would exceed 50%');
  assert.equal(c.stats.outlier_ejections_overflow, 1);
  assert.equal(c.stats.outlier_ejections_enforced_consecutive_5xx, 2);
  void h4;
  await until('back after base_ejection_time', () => (h1.healthFlags & HealthFlag.OutlierEjected) === 0 && (h2.healthFlags & HealthFlag.OutlierEjected) === 0, 2000);
});

test('outlier detection: gateway failures need their enforcement; failure percentage ejects over the threshold', async () => {
  const c = staticCluster('od-gw', [2001, 2002, 2003, 2004, 2005, 2006], { outlierDetection: {
    consecutive5xx: 0, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100, interval: '0.1s', baseEjectionTime: '5s', maxEjectionPercent: 100,
    failurePercentageThreshold: 60, enforcingFailurePercentage: 100, failurePercentageMinimumHosts: 5, failurePercentageRequestVolume: 10,
  } });
  attachClusterHealth(c, { role: 'local' });
  const hosts = c.hosts;
  hosts[0]!.outlier!.putHttpResponseCode(500);
  hosts[0]!.outlier!.putHttpResponseCode(500);
  assert.equal(hosts[0]!.healthFlags & HealthFlag.OutlierEjected, 0, '500 is not a gateway failure');
  hosts[0]!.outlier!.putHttpResponseCode(502);
  hosts[0]!.outlier!.putHttpResponseCode(504);
  assert.ok(hosts[0]!.healthFlags & HealthFlag.OutlierEjected);
  // Host 5 fails 80% of its requests; the others are fine.
  for (const [i, h] of hosts.entries()) {
    for (let n = 0; n < 20; n++) h.outlier!.putHttpResponseCode(i === 5 && n % 5 !== 0 ? 500 : 200);
  }
  await until('failure percentage ejection', () => (hosts[5]!.healthFlags & HealthFlag.OutlierEjected) !== 0, 2000);
  assert.equal(c.stats.outlier_ejections_enforced_failure_percentage, 1);
  for (const h of hosts.slice(1, 5)) assert.equal(h.healthFlags & HealthFlag.OutlierEjected, 0);
});

test('data role: health flags come from the control process', () => {
  const c = staticCluster('data', [3001, 3002], { healthChecks: [{ ...fast, unhealthyThreshold: 1, healthyThreshold: 1, tcpHealthCheck: {} }] });
  attachClusterHealth(c, { role: 'data' });
  const [a, b] = c.hosts as [Host, Host];
  assert.ok(a.healthFlags & HealthFlag.ActiveHcFailed, 'mirrors the checker start state');
  applyHealthFlags(c, a.key, 0);
  applyHealthFlags(c, b.key, HealthFlag.OutlierEjected);
  assert.equal(a.healthFlags & HEALTH_FLAGS, 0);
  assert.equal(b.healthFlags & HEALTH_FLAGS, HealthFlag.OutlierEjected);
  for (let i = 0; i < 20; i++) assert.equal(c.chooseHost({ hash: undefined, avoid: undefined, maxAttempts: 1 }), a);
});

test('payload blocks match in order, not necessarily adjacent', () => {
  assert.ok(matchesInOrder(Buffer.from('abcdef'), [Buffer.from('ab'), Buffer.from('ef')]));
  assert.ok(!matchesInOrder(Buffer.from('abcdef'), [Buffer.from('ef'), Buffer.from('ab')]));
  assert.ok(matchesInOrder(Buffer.from('x'), []));
});
