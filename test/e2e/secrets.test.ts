// Secrets from Kubernetes Secrets to the proxy, and never into a display of the IR: an HTTPS
// listener (certificate and key), basic auth (htpasswd) and API key auth, through
// `egts translate --to xds` and `egts proxy`; `egts translate --to ir` shows each as "[redacted]",
// and so does the proxy's admin /config_dump (Envoy's redaction of sensitive fields).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../support/corpus.js';
import { makeCa, type Ca } from './certs.js';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { startEcho, type Echo } from './support.js';

const HTTPS = 8443;
const HOST = 'secure.example.com';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const htpasswd = `alice:{SHA}${createHash('sha1').update('wonderland').digest('base64')}\n`;
const apiKeys = { 'client-a': 'key-a-7f3e9c1d', 'client-b': 'key-b-2b8a4e6f' };

function manifests(ca: Ca, echo: Echo): { text: string; secrets: string[] } {
  const server = ca.issue('secrets-server', [HOST]);
  const text = `${gatewayClass}apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners:
  - {name: https, protocol: HTTPS, port: ${HTTPS}, hostname: ${HOST}, tls: {certificateRefs: [{name: server-tls}]}}
---
apiVersion: v1
kind: Secret
metadata: {name: server-tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: ${b64(server.cert)}, tls.key: ${b64(server.key)}}
---
apiVersion: v1
kind: Secret
metadata: {name: users, namespace: default}
data: {.htpasswd: ${b64(htpasswd)}}
---
apiVersion: v1
kind: Secret
metadata: {name: api-keys, namespace: default}
data: {${Object.entries(apiKeys).map(([c, k]) => `${c}: ${b64(k)}`).join(', ')}}
---
${backend('v1', echo)}${['basic', 'apikey', 'open'].map((n) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${n}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /${n}}}], backendRefs: [{name: v1, port: 8080}]}]
---
`).join('')}apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: basic, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: basic}]
  basicAuth: {users: {name: users}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: apikey, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: apikey}]
  apiKeyAuth:
    credentialRefs: [{name: api-keys}]
    extractFrom: [{headers: [x-api-key]}]
    forwardClientIDHeader: x-client-id
    sanitize: true
`;
  // What must never be shown, in every form it takes: PEM and base64 key, htpasswd, API keys.
  const pemBody = server.key.split('\n').filter((l) => l && !l.startsWith('-----'))[1]!;
  const secrets = [b64(server.key), pemBody, b64(htpasswd), htpasswd.trim(), ...Object.values(apiKeys), ...Object.values(apiKeys).map(b64)];
  return { text, secrets };
}

function egtsTranslate(text: string, to: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'egts-secrets-')), 'manifests.yaml');
  writeFileSync(file, text);
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'translate', '-f', file, '--to', to, '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('secrets through translate and the proxy', () => {
  let ca: Ca;
  let echo: Echo;
  let gw: GatewayProxy;
  let input: ReturnType<typeof manifests>;

  before(async () => {
    ca = makeCa('secrets-ca');
    echo = await startEcho('v1');
    input = manifests(ca, echo);
    gw = await startGateway(input.text, 'default/gw', ['--admin-address', '127.0.0.1:0']);
  });
  after(async () => { await Promise.all([gw, echo].map((p) => p?.close())); });

  function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: gw.port(HTTPS), servername: HOST, path, headers: { host: HOST, ...headers }, ca: ca.cert, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('the HTTPS listener presents the certificate of its Secret (the proxy has the key)', async () => {
    const r = await get('/open');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).backend, 'v1');
  });

  test('basic auth checks the users of the Secret', async () => {
    assert.equal((await get('/basic')).status, 401);
    assert.equal((await get('/basic', { authorization: `Basic ${b64('alice:nope')}` })).status, 401);
    assert.equal((await get('/basic', { authorization: `Basic ${b64('alice:wonderland')}` })).status, 200);
  });

  test('API key auth checks the keys of the Secret and forwards the client id', async () => {
    assert.equal((await get('/apikey')).status, 401);
    assert.equal((await get('/apikey', { 'x-api-key': '[redacted]' })).status, 401);
    const ok = await get('/apikey', { 'x-api-key': apiKeys['client-b'] });
    assert.equal(ok.status, 200);
    const seen = JSON.parse(ok.body).headers;
    assert.deepEqual(seen['x-client-id'], ['client-b']);
    assert.equal(seen['x-api-key'], undefined);
  });

  test('the proxy\'s /config_dump shows none of them, each sensitive field "[redacted]"', async () => {
    const port = Number(/admin on port (\d+)/.exec(gw.output())![1]);
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/config_dump?include_eds' }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    for (const s of input.secrets) assert.ok(!body.includes(s), `the proxy's dump shows ${s.slice(0, 16)}...`);
    const dump = JSON.parse(body);
    const secrets = dump.configs.find((c: { '@type': string }) => c['@type'].endsWith('SecretsConfigDump'));
    const tls = secrets.staticSecrets.map((s: any) => s.secret.tlsCertificate).find(Boolean);
    assert.deepEqual(tls.privateKey, { inlineBytes: b64('[redacted]') });
    assert.ok(tls.certificateChain.inlineBytes.length > 100, 'the certificate is shown');
    const filters = JSON.stringify(dump.configs.find((c: { '@type': string }) => c['@type'].endsWith('ListenersConfigDump')));
    assert.ok(filters.includes('"credentials":[{"key":"[redacted]","client":"[redacted]"}'), 'API keys redacted in the filter config');
    assert.ok(filters.includes(`"users":{"inlineBytes":"${b64('[redacted]')}"}`), 'basic auth users redacted in the filter config');
  });

  test('egts translate --to ir shows every secret as "[redacted]", and only there', () => {
    const out = egtsTranslate(input.text, 'ir');
    for (const s of input.secrets) assert.ok(!out.includes(s), `the IR dump shows ${s.slice(0, 16)}...`);
    const ir = JSON.parse(out).xdsIR['default/gw'];
    assert.equal(ir.http[0].tls.certificates[0].privateKey, '[redacted]');
    const security = (name: string) => ir.http[0].routes.find((r: { name: string }) => r.name.startsWith(`httproute/default/${name}/`)).security;
    assert.equal(security('basic').basicAuth.users, '[redacted]');
    assert.deepEqual(security('apikey').apiKeyAuth.credentials.map((c: { key: string }) => c.key), ['[redacted]', '[redacted]']);
    // The xDS carries the real values: it is what the proxy is given.
    const xds = egtsTranslate(input.text, 'xds');
    for (const k of Object.values(apiKeys)) assert.ok(xds.includes(k));
    assert.ok(xds.includes(input.secrets[0]!), 'the listener key in the xDS secret');
  });
});
