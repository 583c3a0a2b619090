// The control plane in-process, with a real ADS client (the one the built-in proxy uses) over
// mTLS standing in for a proxy: manifests → status → snapshots → ACK/NACK → status, reload, bad
// input, and the admin API. The whole system with real proxy processes is in test/e2e/serve*.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdsClient, type ResourceUpdate } from '../../src/proxy/xds/index.js';
import { TYPE_URL } from '../../src/xds/proto/index.js';
import { ControlPlane } from '../../src/serve/control-plane.js';
import { defaultConfig } from '../../src/serve/config.js';
import { createLogger } from '../../src/serve/log.js';
import { certificatePaths } from '../../src/infra/certgen.js';
import { certsDir } from '../../src/infra/host/home.js';
import { until } from '../support/until.js';

const gateway = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: eg
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: eg
spec:
  gatewayClassName: eg
  listeners:
  - name: http
    protocol: HTTP
    port: 18080
`;

const route = (prefix: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs:
  - name: eg
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: ${prefix}
    backendRefs:
    - group: gateway.envoyproxy.io
      kind: Backend
      name: app
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata:
  name: app
spec:
  endpoints:
  - ip:
      address: 127.0.0.1
      port: 3999
`;

/** A stand-in proxy: the real ADS client, holding what it is sent, rejecting on demand. */
function observer(server: string, certs: ReturnType<typeof certificatePaths>['client'], cluster: string) {
  const held = new Map<string, ResourceUpdate>();
  const state = { reject: undefined as undefined | ((u: ResourceUpdate) => string | undefined) };
  const client = new AdsClient({
    server,
    node: { id: 'test-proxy', cluster },
    tls: { caFile: certs.ca, certFile: certs.cert, keyFile: certs.key, serverName: 'localhost' },
    wildcardTypes: [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route],
    apply: (u) => {
      const error = state.reject?.(u);
      if (error === undefined) held.set(u.typeUrl, u);
      return error;
    },
  });
  return { client, held, state };
}

test('manifests to xDS to status, with a proxy that ACKs, follows edits and NACKs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-cp-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-home-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'gateway.yaml'), gateway);
  writeFileSync(join(dir, 'route.yaml'), route('/one'));
  const config = { ...defaultConfig([dir]), admin: { host: '127.0.0.1', port: 0 } };
  const lines: string[] = [];
  const cp = new ControlPlane({
    config,
    home,
    xds: { host: '127.0.0.1', port: 0 },
    proxy: { kind: 'none' },
    watch: { debounceMs: 30, resyncMs: 0 },
    log: createLogger('info', (l) => lines.push(l)),
  });
  await cp.start();
  t.after(() => cp.stop(1000));
  const admin = `http://127.0.0.1:${cp.adminAddress!.port}`;
  const get = async (path: string) => {
    const res = await fetch(`${admin}${path}`);
    return { code: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const condition = async (type: string) => (await get('/api/status/gateway/default/eg')).body.status.conditions.find((c: any) => c.type === type);

  assert.equal((await fetch(`${admin}/readyz`)).status, 200);
  assert.equal((await condition('Accepted')).status, 'True');
  assert.equal((await condition('Programmed')).reason, 'Pending');
  const cls = (await get('/api/status/gatewayclasses/eg')).body;
  assert.equal(cls.status.conditions[0].type, 'Accepted');

  // A proxy connects (mTLS) and ACKs: the Gateway is Programmed.
  const proxy = observer(`127.0.0.1:${cp.xdsPort}`, certificatePaths(certsDir(home)).client, 'default/eg');
  proxy.client.start();
  t.after(() => proxy.client.stop());
  await until('Programmed=True', async () => (await condition('Programmed')).status === 'True');
  const programmed = await condition('Programmed');
  assert.equal(programmed.observedGeneration, 1);
  assert.ok(programmed.lastTransitionTime);
  const routePrefix = () => JSON.stringify(proxy.held.get(TYPE_URL.route)?.resources.map((r) => r.resource)).match(/"(?:prefix|pathSeparatedPrefix)":"([^"]*)"/)?.[1];
  assert.equal(routePrefix(), '/one');
  const dump = (await get('/api/config_dump/default/eg')).body;
  assert.ok(JSON.stringify(dump).includes('httproute/default/web/rule/0'));
  assert.equal((await get('/api/config_dump/default/nope')).code, 404);

  // An edit reaches the proxy within a second.
  const t0 = Date.now();
  writeFileSync(join(dir, 'route.yaml'), route('/two'));
  await until('the edited route', () => routePrefix() === '/two', 3000);
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  const route1 = (await get('/api/status/httproute/default/web')).body;
  assert.equal(route1.metadata.generation, 2);

  // A syntax error: routing stays as it was, the problem is in status and the log.
  const version = (await get('/api/status')).body.gateways[0].version;
  writeFileSync(join(dir, 'route.yaml'), `${route('/three')}\n  bad: [\n`);
  const problems = await until('the problem in status', async () => {
    const p = (await get('/api/status')).body.problems;
    return p.length ? p : undefined;
  });
  assert.match(problems.map((p: any) => p.text).join('\n'), /route\.yaml:\d+ \(document 2\): malformed YAML/);
  assert.ok(lines.some((l) => / warn .*route\.yaml:\d+ \(document 2\): malformed YAML/.test(l)));
  await sleep(200);
  assert.equal((await get('/api/status')).body.gateways[0].version, version);
  assert.equal(routePrefix(), '/two');

  // Fixing it applies the fix.
  writeFileSync(join(dir, 'route.yaml'), route('/four'));
  await until('the fix', () => routePrefix() === '/four');
  assert.deepEqual((await get('/api/status')).body.problems, []);

  // The proxy rejects the next route configuration: the Gateway and the route say why.
  proxy.state.reject = (u) => (u.typeUrl === TYPE_URL.route ? `route default/eg/http: route httproute/default/web/rule/0/match/0/*: unsupported thing` : undefined);
  writeFileSync(join(dir, 'route.yaml'), route('/five'));
  await until('Programmed=False/Invalid', async () => (await condition('Programmed')).reason === 'Invalid');
  assert.match((await condition('Programmed')).message, /test-proxy rejected the RouteConfiguration configuration: .*unsupported thing/);
  const rejected = (await get('/api/status/httproute/default/web')).body.status.parents[0].conditions.find((c: any) => c.type === 'Programmed');
  assert.equal(rejected.status, 'False');
  assert.equal(routePrefix(), '/four');
  assert.ok(lines.some((l) => /test-proxy rejected RouteConfiguration/.test(l)));

  // Accepting again clears it.
  proxy.state.reject = undefined;
  writeFileSync(join(dir, 'route.yaml'), route('/six'));
  await until('Programmed=True again', async () => (await condition('Programmed')).status === 'True');
  assert.equal(routePrefix(), '/six');

  // An EnvoyPatchPolicy that applies: its status says so and the proxy gets the patched listener.
  const patch = (path: string, value: number) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyPatchPolicy
metadata:
  name: tune
spec:
  targetRef:
    group: gateway.networking.k8s.io
    kind: Gateway
    name: eg
  type: JSONPatch
  jsonPatches:
  - type: type.googleapis.com/envoy.config.listener.v3.Listener
    name: default/eg/http
    operation:
      op: replace
      path: ${path}
      value: ${value}
`;
  const listener = () => proxy.held.get(TYPE_URL.listener)?.resources.find((r) => r.name === 'default/eg/http')?.resource as any;
  writeFileSync(join(dir, 'patch.yaml'), patch('/per_connection_buffer_limit_bytes', 65536));
  await until('the patched listener', () => listener()?.perConnectionBufferLimitBytes === 65536);
  const policy = await until('the policy status', async () => (await get('/api/status/envoypatchpolicy/default/tune')).body.status?.ancestors?.[0]);
  assert.equal(policy.conditions.find((c: any) => c.type === 'Programmed').status, 'True');

  // A patch that makes the listener invalid: that is new breakage, so the proxies keep the last
  // good snapshot and the Gateway says why.
  writeFileSync(join(dir, 'patch.yaml'), patch('/address/socket_address/port_value', 99999));
  await until('Programmed=False for the invalid listener', async () => /not be translated|could not/.test((await condition('Programmed')).message));
  assert.match((await get('/api/status')).body.problems.map((p: any) => p.text).join('\n'), /default\/eg\/http/);
  await sleep(200);
  assert.equal(listener()?.perConnectionBufferLimitBytes, 65536);
  rmSync(join(dir, 'patch.yaml'));
  await until('the listener without the patch', () => listener() && listener().perConnectionBufferLimitBytes !== 65536);
  await until('Programmed=True once more', async () => (await condition('Programmed')).status === 'True');

  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /egts_xds_nacks_total\{type="RouteConfiguration"\} 1/);
  assert.match(metrics, /egts_xds_connections 1/);
});

test('a proxy without a client certificate is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-cp-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-home-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'gateway.yaml'), gateway);
  const cp = new ControlPlane({
    config: { ...defaultConfig([dir]), admin: { host: '127.0.0.1', port: 0 } },
    home,
    xds: { host: '127.0.0.1', port: 0 },
    proxy: { kind: 'none' },
    watch: { resyncMs: 0 },
    log: createLogger('error', () => undefined),
  });
  await cp.start();
  t.after(() => cp.stop(1000));
  const certs = certificatePaths(certsDir(home)).client;
  let applied = 0;
  const anonymous = new AdsClient({
    server: `127.0.0.1:${cp.xdsPort}`,
    node: { id: 'intruder', cluster: 'default/eg' },
    tls: { caFile: certs.ca, serverName: 'localhost' },
    backoff: { initialMs: 50, maxMs: 100 },
    apply: () => void applied++,
  });
  anonymous.start();
  await sleep(700);
  anonymous.stop();
  assert.equal(applied, 0);
  assert.equal(cp.server.connections().length, 0);
});
