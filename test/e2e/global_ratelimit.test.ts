// Global rate limiting end to end: a BackendTrafficPolicy global rate limit → `egts translate
// --to xds,ratelimit` → `egts ratelimit` (mTLS, the proxies' client certificate from the `envoy`
// Secret, as Envoy Gateway's rate limit service) and two `egts proxy` processes that count
// against the same service: the limit holds across both. A service that goes away lets
// requests through (failure mode allow).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeCa } from './certs.js';
import { backend, freePort, gatewayClass } from './gateway.js';
import { request, startEcho, startProxy, startProcess, type Echo, type Proc, type ProxyProc } from './support.js';
import { repoRoot } from '../support/corpus.js';

const PORT = 18095;
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('global rate limits through egts ratelimit', () => {
  let echo: Echo, rls: Proc | undefined, proxies: ProxyProc[] = [];

  before(async () => {
    echo = await startEcho('global');
    const ca = makeCa('rls-ca');
    const server = ca.issue('rls-server', ['localhost']);
    const client = ca.issue('envoy-client', ['envoy'], true);
    const certsDir = mkdtempSync(join(tmpdir(), 'egts-certs-dir-'));
    writeFileSync(join(certsDir, 'ca.crt'), ca.cert);
    const rlsPort = await freePort();
    const manifests = `${gatewayClass}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, port: ${PORT}, protocol: HTTP}]
---
${backend('echo', echo)}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: limited, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: echo, port: 8080}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: global, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: limited}]
  rateLimit:
    type: Global
    global:
      rules:
      - clientSelectors: [{headers: [{name: x-user, type: Distinct}]}]
        limit: {requests: 3, unit: Hour}
---
apiVersion: v1
kind: Secret
metadata: {name: envoy, namespace: envoy-gateway-system}
type: kubernetes.io/tls
data: {tls.crt: ${b64(client.cert)}, tls.key: ${b64(client.key)}, ca.crt: ${b64(ca.cert)}}
`;
    const dir = mkdtempSync(join(tmpdir(), 'egts-global-'));
    writeFileSync(join(dir, 'm.yaml'), manifests);
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'translate', '-f', join(dir, 'm.yaml'), '--to', 'xds,ratelimit', '--rate-limit-service', `grpc://127.0.0.1:${rlsPort}`, '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    writeFileSync(join(dir, 'ratelimit.json'), JSON.stringify({ rateLimitConfigs: out.rateLimitConfigs }));
    rls = await startProcess(['ratelimit', '-c', join(dir, 'ratelimit.json'), '--listen', `127.0.0.1:${rlsPort}`,
      '--tls-cert', server.certFile, '--tls-key', server.keyFile, '--tls-ca', ca.certFile], (o) => o.includes('listening on port'));
    for (let i = 0; i < 2; i++) {
      const cd = structuredClone(out.xds['default/gw']);
      for (const c of cd.configs) {
        for (const l of c.dynamicListeners ?? []) {
          const sa = l.activeState.listener.address.socketAddress;
          sa.portValue = await freePort();
          sa.address = '127.0.0.1';
          // As an EnvoyGateway rateLimit.timeout would set it: a loaded test machine can take longer than Envoy's 20 ms default.
          for (const fc of [l.activeState.listener.defaultFilterChain, ...(l.activeState.listener.filterChains ?? [])]) {
            for (const f of fc?.filters ?? []) for (const hf of f.typedConfig.httpFilters ?? []) if (hf.name.startsWith('envoy.filters.http.ratelimit')) hf.typedConfig.timeout = '2s';
          }
        }
      }
      proxies.push(await startProxy({ xds: { 'default/gw': cd } }, ['--service-cluster', 'default/gw', '--certs-dir', certsDir]));
    }
  });

  after(async () => { await Promise.all([...proxies, echo, rls].map((p) => p?.close())); });

  const portOf = (p: ProxyProc) => p.ports['default/gw/http']!;

  test('the limit is counted by the service across both proxies', async () => {
    const statuses: number[] = [];
    let first;
    for (let i = 0; i < 5; i++) {
      const r = await request(portOf(proxies[i % 2]!), { path: "/x", headers: { "x-user": "alice" } });
      statuses.push(r.status);
      if (i === 0) first = r;
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(first!.headers['x-ratelimit-limit'], '3, 3;w=3600');
    assert.equal(first!.headers['x-ratelimit-remaining'], '2');
    // Another value of the distinct header has its own counter.
    assert.equal((await request(portOf(proxies[0]!), { path: '/x', headers: { 'x-user': 'bob' } })).status, 200);
    // A request the rule does not select (no x-user) is not limited.
    for (let i = 0; i < 4; i++) assert.equal((await request(portOf(proxies[1]!), { path: '/x' })).status, 200);
  });

  test('without the service, requests go through (failure mode allow)', async () => {
    await rls!.close();
    rls = undefined;
    const r = await request(portOf(proxies[0]!), { path: '/x', headers: { 'x-user': 'alice' } });
    assert.equal(r.status, 200);
  });
});
