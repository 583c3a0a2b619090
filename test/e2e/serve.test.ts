// End to end: `egts serve` as a user runs it (a real process, with its built-in proxy and demo
// echo backend as child processes, mTLS between them), driven through files and observed
// through HTTP requests to the gateway, `egts status` and the logs: first traffic, reload within
// a second, a syntax error that changes nothing but is reported, its fix, an invalid resource,
// a proxy killed with SIGKILL and restarted, and a graceful SIGTERM shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../support/corpus.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/until.js';

const egts = join(repoRoot, 'bin', 'egts.js');

/** GET through the gateway: status and the echo's view of the request (or undefined if it failed). */
async function call(port: number, path: string): Promise<{ status: number; body: any } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('egts serve: quick start, reload, bad input, proxy crash, status, shutdown', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-e2e-serve-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-e2e-home-'));
  const [gatewayPort, echoPort, adminPort, xdsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // The quick start, on free ports.
  cpSync(join(repoRoot, 'examples', 'quickstart'), dir, { recursive: true });
  writeFileSync(join(dir, 'gateway.yaml'), readFileSync(join(dir, 'gateway.yaml'), 'utf8').replace('port: 8080', `port: ${gatewayPort}`));
  writeFileSync(join(dir, 'backend.yaml'), readFileSync(join(dir, 'backend.yaml'), 'utf8').replace('port: 3000', `port: ${echoPort}`));
  const routeFile = join(dir, 'route.yaml');
  const route = readFileSync(routeFile, 'utf8');

  const log: string[] = [];
  const serve: ChildProcess = spawn(process.execPath, [egts, 'serve', dir, '--home', home, '--admin', `127.0.0.1:${adminPort}`, '--xds', `127.0.0.1:${xdsPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.on('data', (d) => log.push(String(d)));
  serve.stderr!.on('data', (d) => log.push(String(d)));
  const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  const logText = () => log.join('');
  const status = (...args: string[]) => spawnSync(process.execPath, [egts, 'status', '--admin', `127.0.0.1:${adminPort}`, ...args], { encoding: 'utf8' });
  const api = async (path: string) => (await fetch(`http://127.0.0.1:${adminPort}${path}`)).json() as Promise<any>;

  // 1. The quick start answers through the gateway.
  const first = await until('the gateway to answer', async () => {
    const r = await call(gatewayPort, '/hello');
    return r?.status === 200 ? r : undefined;
  }, 30_000);
  assert.equal(first.body.path, '/hello');
  assert.equal(first.body.backend, 'default/echo');
  const table = await until('Programmed in egts status', () => {
    const out = status().stdout;
    return /Gateway\s+default\/eg\s+True\s+True/.test(out) ? out : undefined;
  });
  assert.match(table, /HTTPRoute\s+default\/echo\s+True/);
  assert.match(table, /default\/eg: version \S+; pid \d+ running; egts-proxy-default-eg in sync/);
  const yaml = status('-o', 'yaml').stdout;
  assert.match(yaml, /observedGeneration: 1/);
  assert.match(yaml, /attachedRoutes: 1/);
  assert.match(yaml, /supportedKinds:/);

  // 2. Editing the route file changes routing within a second.
  let t0 = Date.now();
  writeFileSync(routeFile, route.replace('value: /', 'value: /v2'));
  await until('/v2 only', async () => (await call(gatewayPort, '/hello'))?.status === 404 && (await call(gatewayPort, '/v2/x'))?.status === 200, 5000);
  const reloadMs = Date.now() - t0;
  assert.ok(reloadMs < 1000, `reload took ${reloadMs} ms`);

  // 3. A syntax error leaves routing as it was, and shows in egts status and the logs.
  writeFileSync(routeFile, `${route.replace('value: /', 'value: /v3')}\n  oops: [unclosed\n`);
  const problems = await until('the problem in egts status', () => {
    const out = status().stdout;
    return /PROBLEMS/.test(out) ? out : undefined;
  });
  assert.match(problems, /route\.yaml:\d+ \(document 1\): malformed YAML/);
  await until('the problem in the log', () => /warn .*route\.yaml:\d+ \(document 1\): malformed YAML/.test(logText()));
  await sleep(300);
  assert.equal((await call(gatewayPort, '/v2/x'))?.status, 200);
  assert.equal((await call(gatewayPort, '/v3/x'))?.status, 404);

  // 4. Fixing it applies the fix.
  t0 = Date.now();
  writeFileSync(routeFile, route.replace('value: /', 'value: /v3'));
  await until('the fix', async () => (await call(gatewayPort, '/v3/x'))?.status === 200, 5000);
  assert.ok(Date.now() - t0 < 1000);
  assert.doesNotMatch(status().stdout, /PROBLEMS/);

  // 5. An invalid resource is reported with its place and changes nothing else.
  writeFileSync(join(dir, 'bad-route.yaml'), route.replace('name: echo\nspec', 'name: bad\nspec').replace('type: PathPrefix', 'type: Sometimes'));
  const invalid = await until('the invalid resource', () => {
    const out = status().stdout;
    return /bad-route\.yaml/.test(out) ? out : undefined;
  });
  assert.match(invalid, /bad-route\.yaml:\d+ \(document 1\) HTTPRoute bad: spec\.rules\[0\]\.matches\[0\]\.path\.type: must be one of/);
  assert.equal((await call(gatewayPort, '/v3/x'))?.status, 200);
  rmSync(join(dir, 'bad-route.yaml'));

  // 6. A proxy killed with SIGKILL is restarted and traffic is back within seconds.
  const before = (await api('/api/status')).gateways[0].process;
  assert.equal(before.state, 'running');
  process.kill(before.pid, 'SIGKILL');
  t0 = Date.now();
  await until('traffic after the crash', async () => {
    const g = (await api('/api/status')).gateways[0];
    return g.process?.pid !== before.pid && (await call(gatewayPort, '/v3/after-crash'))?.status === 200;
  }, 15_000);
  const recovery = Date.now() - t0;
  assert.ok(recovery < 5000, `recovery took ${recovery} ms`);
  const after = (await api('/api/status')).gateways[0];
  assert.equal(after.process.restarts, 1);
  await until('the crash in the log', () => /proxy default\/eg: exited unexpectedly \(SIGKILL\)/.test(logText()));

  // 7. SIGTERM drains the proxies and exits; nothing is left listening.
  const proxyPid = after.process.pid;
  serve.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(logText(), /SIGTERM: draining the proxies and stopping/);
  assert.equal(await portOpen(gatewayPort), false);
  assert.equal(await portOpen(echoPort), false);
  assert.throws(() => process.kill(proxyPid, 0));
  t.diagnostic(`reload ${reloadMs} ms, recovery after kill -9 ${recovery} ms`);
});

test('egts serve killed with SIGKILL leaves no proxy or echo backend behind', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-e2e-serve-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-e2e-home-'));
  const [gatewayPort, echoPort, adminPort, xdsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  cpSync(join(repoRoot, 'examples', 'quickstart'), dir, { recursive: true });
  writeFileSync(join(dir, 'gateway.yaml'), readFileSync(join(dir, 'gateway.yaml'), 'utf8').replace('port: 8080', `port: ${gatewayPort}`));
  writeFileSync(join(dir, 'backend.yaml'), readFileSync(join(dir, 'backend.yaml'), 'utf8').replace('port: 3000', `port: ${echoPort}`));
  const serve = spawn(process.execPath, [egts, 'serve', dir, '--home', home, '--admin', `127.0.0.1:${adminPort}`, '--xds', `127.0.0.1:${xdsPort}`], { stdio: 'ignore' });
  t.after(() => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  await until('the gateway to answer', async () => (await call(gatewayPort, '/'))?.status === 200, 30_000);
  serve.kill('SIGKILL');
  await until('the proxy and the echo backend to stop', async () => !(await portOpen(gatewayPort)) && !(await portOpen(echoPort)), 15_000);
});

test('egts serve: a Service with EndpointSlices, and Backends by IP and FQDN (and a Unix socket refused as Envoy Gateway does)', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-e2e-serve-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-e2e-home-'));
  const [gatewayPort, ipPort, fqdnPort, adminPort, xdsPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const socket = join(dir, 'echo.sock');
  writeFileSync(join(dir, 'gateway.yaml'), readFileSync(join(repoRoot, 'examples', 'quickstart', 'gateway.yaml'), 'utf8').replace('port: 8080', `port: ${gatewayPort}`));
  const backend = (name: string, endpoint: string) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata:
  name: ${name}
  annotations:
    egts.dev/echo: "true"
spec:
  endpoints:
  - ${endpoint}
---
`;
  const rule = (prefix: string, ref: string) => `  - matches:
    - path:
        type: PathPrefix
        value: ${prefix}
    backendRefs:
    - ${ref}
`;
  writeFileSync(join(dir, 'backends.yaml'), [
    backend('by-ip', `ip: {address: 127.0.0.1, port: ${ipPort}}`),
    backend('by-fqdn', `fqdn: {hostname: localhost, port: ${fqdnPort}}`),
    backend('by-socket', `unix: {path: ${socket}}`),
    // A Service whose EndpointSlice points at the IP backend's echo server.
    `apiVersion: v1
kind: Service
metadata:
  name: svc
spec:
  ports:
  - name: http
    port: 80
    targetPort: ${ipPort}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc-1
  labels:
    kubernetes.io/service-name: svc
addressType: IPv4
ports:
- name: http
  port: ${ipPort}
  protocol: TCP
endpoints:
- addresses: [127.0.0.1]
  conditions: {ready: true}
`,
  ].join(''));
  writeFileSync(join(dir, 'routes.yaml'), `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: backends
spec:
  parentRefs:
  - name: eg
  rules:
${rule('/ip', '{group: gateway.envoyproxy.io, kind: Backend, name: by-ip}')}${rule('/fqdn', '{group: gateway.envoyproxy.io, kind: Backend, name: by-fqdn}')}${rule('/unix', '{group: gateway.envoyproxy.io, kind: Backend, name: by-socket}')}${rule('/service', '{name: svc, port: 80}')}`);
  const serve = spawn(process.execPath, [egts, 'serve', dir, '--home', home, '--admin', `127.0.0.1:${adminPort}`, '--xds', `127.0.0.1:${xdsPort}`], { stdio: 'ignore' });
  t.after(() => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  for (const [path, backendName] of [['/ip', 'default/by-ip'], ['/fqdn', 'default/by-fqdn'], ['/service', 'default/by-ip']]) {
    const r = await until(`${path} to answer`, async () => {
      const res = await call(gatewayPort, `${path}/x`);
      return res?.status === 200 ? res : undefined;
    }, 30_000);
    assert.equal(r.body.backend, backendName, path);
  }
  // Envoy Gateway v1.9 refuses Unix socket Backends in route backendRefs (they serve telemetry
  // and extension services): the rule answers 500 and the route's status says why.
  assert.equal((await call(gatewayPort, '/unix/x'))?.status, 500);
  const route = await (await fetch(`http://127.0.0.1:${adminPort}/api/status/httproute/default/backends`)).json() as any;
  const resolved = route.status.parents[0].conditions.find((c: any) => c.type === 'ResolvedRefs');
  assert.equal(resolved.reason, 'UnsupportedAddressType');
  serve.kill('SIGTERM');
  await new Promise((r) => serve.once('exit', r));
});
