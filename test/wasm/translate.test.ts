// `egts translate --wasm-cache`: the Wasm modules of EnvoyExtensionPolicies are downloaded and
// checked before translating; the IR carries the module's real checksum and the serving URL of
// Envoy Gateway's cache service, and a wrong sha256 is the policy's error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/corpus.js';
import { sha256, startFileServer, wasmPlugin } from './support.js';

const manifests = (url: string, wrong: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [a.example.com]
  rules: [{backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: b, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [b.example.com]
  rules: [{backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.0.0.5, ports: [{name: http, port: 8080}]}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata: {name: good, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: a}]
  wasm: [{name: w, code: {type: HTTP, http: {url: "${url}"}}}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata: {name: bad, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: b}]
  wasm: [{name: w, code: {type: HTTP, http: {url: "${url}", sha256: "${wrong}"}}}]
`;

test('egts translate fetches Wasm modules into --wasm-cache', { timeout: 60_000 }, async (t) => {
  const module = await wasmPlugin('translate');
  const files = await startFileServer(new Map([['/m.wasm', module]]));
  const dir = mkdtempSync(join(tmpdir(), 'egts-translate-wasm-'));
  t.after(async () => {
    await files.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = files.url('/m.wasm');
  const wrong = '0'.repeat(64);
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'translate', '-f', '-', '-o', 'json', '--wasm-cache', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(manifests(url, wrong));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise((r) => child.once('close', r));
  const out = JSON.parse(stdout);
  const routes = out.xdsIR['default/gw'].http[0].routes;
  const code = routes.find((r: any) => r.hostname === 'a.example.com').envoyExtensions.wasms[0].httpWasmCode;
  assert.equal(code.originalDownloadingURL, url);
  assert.equal(code.sha256, sha256(module));
  assert.match(code.servingURL, /^https:\/\/envoy-gateway\.envoy-gateway-system\.svc\.cluster\.local:18002\/[\w-]{43}\.wasm$/);
  assert.deepEqual(readdirSync(join(dir, 'modules')), [`${sha256(module)}.wasm`]);
  const bad = out.envoyExtensionPolicies.find((p: any) => p.metadata.name === 'bad');
  const cond = bad.status.ancestors[0].conditions.find((c: any) => c.type === 'Accepted');
  assert.equal(cond.status, 'False', stderr);
  assert.match(cond.message, new RegExp(`module downloaded from ${url.replaceAll('.', '\\.')} has checksum ${sha256(module)}, which does not match: ${wrong}`));
  assert.ok((files.hits.get('/m.wasm') ?? 0) <= 2, 'one download per checksum asked for');
});
