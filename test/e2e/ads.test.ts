// The proxy configured over ADS by egts's xDS server (state of the world and delta): it applies
// updates, NACKs what it cannot apply (naming resource and field) while traffic continues on the
// last good configuration, and a burst of route changes under steady load fails no request.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { makeSnapshot, XdsServer, type Nack } from '../../src/xds/server/index.js';
import { TYPE_URL } from '../../src/xds/proto/index.js';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { request, sleep, startEcho, type Echo, type Proc } from './support.js';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../support/corpus.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/until.js';

function startAdsProxy(xds: number, key: string, protocol: 'sotw' | 'delta'): Promise<Proc> {
  const proc = spawn(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'proxy', '--xds-server', `127.0.0.1:${xds}`, '--service-cluster', key, '--xds-protocol', protocol], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const p: Proc = { proc, output: () => out, close: () => new Promise((r) => { if (proc.exitCode !== null) r(); else { proc.once('exit', () => r()); proc.kill('SIGKILL'); } }) };
  return new Promise((resolve, reject) => {
    proc.stderr.on('data', () => { if (out.includes('egts proxy: ready')) resolve(p); });
    proc.once('exit', (code) => reject(new Error(`proxy exited ${code}: ${out}`)));
  });
}

describe('egts proxy over ADS', () => {
  let server: XdsServer, xdsPort: number, echo: Echo, version = 0;
  const nacks: Nack[] = [];

  function publish(key: string, port: number, routes: object[], extraClusters: object[] = [], hcm: object = {}): void {
    const { snapshot, problems } = makeSnapshot(String(++version), {
      [TYPE_URL.listener]: [httpListener('http', 'routes', { port, hcm })],
      [TYPE_URL.route]: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes }])],
      [TYPE_URL.cluster]: [cluster('echo'), ...extraClusters],
      [TYPE_URL.endpoint]: [endpoints('echo', [{ host: '127.0.0.1', port: echo.http }])],
    });
    assert.deepEqual(problems, []);
    server.cache.set(key, snapshot);
  }

  before(async () => {
    echo = await startEcho('ads-backend');
    server = new XdsServer();
    server.on('nack', (_c, n) => nacks.push(n));
    xdsPort = await server.listen('127.0.0.1:0');
  });

  after(async () => { await echo?.close(); await server?.close(); });

  for (const protocol of ['sotw', 'delta'] as const) {
    test(`${protocol}: applies updates, NACKs a bad one and keeps serving the last good configuration`, async () => {
      const key = `default/gw-${protocol}`;
      const port = await freePort();
      publish(key, port, [route('v1', { prefix: '/' }, forward('echo'), { responseHeadersToAdd: [{ header: { key: 'x-version', value: '1' } }] })]);
      const proxy = await startAdsProxy(xdsPort, key, protocol);
      try {
        await until('version 1 served', async () => (await request(port, { path: '/' })).headers['x-version'] === '1');
        publish(key, port, [route('v2', { prefix: '/' }, forward('echo'), { responseHeadersToAdd: [{ header: { key: 'x-version', value: '2' } }] })]);
        await until('version 2 served', async () => (await request(port, { path: '/' })).headers['x-version'] === '2');
        const before = nacks.length;
        publish(key, port, [route('bad', { safeRegex: { regex: '(unclosed' } }, forward('echo'))]);
        await until('a NACK', async () => nacks.length > before);
        const nack = nacks[nacks.length - 1]!;
        assert.equal(nack.typeUrl, TYPE_URL.route);
        assert.match(nack.message, /RouteConfiguration routes: virtualHosts\[0\]\.routes\[0\]\.match\.safeRegex\.regex: invalid RE2 regex/);
        const r = await request(port, { path: '/' });
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-version'], '2');
      } finally {
        await proxy.close();
      }
    });
  }

  test('adding and removing 100 routes under steady load fails no request', async () => {
    const key = 'default/gw-load';
    const port = await freePort();
    const base = [route('root', { prefix: '/' }, forward('echo'))];
    publish(key, port, base);
    const proxy = await startAdsProxy(xdsPort, key, 'delta');
    try {
      await until('a 200 through the proxy', async () => (await request(port, { path: '/' })).status === 200);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      let ok = 0;
      let failed = 0;
      let running = true;
      const worker = async () => {
        while (running) {
          try {
            const r = await request(port, { path: '/load', agent });
            if (r.status === 200) ok++; else failed++;
          } catch { failed++; }
        }
      };
      const workers = Array.from({ length: 16 }, worker);
      for (let round = 0; round < 6; round++) {
        const many = Array.from({ length: 100 }, (_, i) => route(`r${round}-${i}`, { path: `/extra/${round}/${i}` }, forward(i % 2 ? 'echo' : 'echo2')));
        publish(key, port, round % 2 ? base : [...many, ...base], round % 2 ? [] : [cluster('echo2')]);
        await sleep(250);
      }
      running = false;
      await Promise.all(workers);
      agent.destroy();
      assert.equal(failed, 0, `${failed} failed of ${ok + failed}`);
      assert.ok(ok > 100, `only ${ok} requests`);
    } finally {
      await proxy.close();
    }
  });

  test('a listener change lets requests in flight finish', async () => {
    const key = 'default/gw-inflight';
    const port = await freePort();
    const base = [route('root', { prefix: '/' }, forward('echo'))];
    publish(key, port, base);
    const proxy = await startAdsProxy(xdsPort, key, 'sotw');
    try {
      await until('a 200 through the proxy', async () => (await request(port, { path: '/' })).status === 200);
      const slow = request(port, { path: '/slow', headers: { 'x-echo-delay-ms': '800' } });
      await sleep(100);
      // A new HCM configuration for the same listener: new connections use it, this one drains.
      publish(key, port, base, [], { statPrefix: 'changed', serverName: 'changed', serverHeaderTransformation: 'OVERWRITE' });
      await until('the changed server header', async () => (await request(port, { path: '/' })).headers.server === 'changed');
      const r = await slow;
      assert.equal(r.status, 200);
      assert.equal(r.json().path, '/slow');
    } finally {
      await proxy.close();
    }
  });
});
