// SecurityPolicies end to end: manifests → `egts translate --to xds` → `egts proxy`, with real
// backends: basic auth, JWT (local JWKS) with authorization by claim, authorization by
// client address, CSRF, and external authorization against a local HTTP service.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, startEcho, type Echo } from './support.js';

const PORT = 8080;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function route(name: string, prefix: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: ${prefix}}}], backendRefs: [{name: v1, port: 8080}]}]
---
`;
}

function policy(name: string, target: string, spec: string): string {
  return `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: ${target}}]
${spec}
---
`;
}

describe('SecurityPolicy through translate and the proxy', () => {
  let echo: Echo;
  let gw: GatewayProxy;
  let authServer: http.Server;
  let port: number;
  let sign: (claims: object) => Promise<string>;

  before(async () => {
    echo = await startEcho('v1');
    authServer = http.createServer((req, res) => {
      if (req.headers['x-token'] === 'let-me-in') { res.writeHead(200, { 'x-user-id': 'u-42' }); res.end(); } else { res.writeHead(403); res.end('go away'); }
    });
    await new Promise<void>((r) => authServer.listen(0, '127.0.0.1', () => r()));
    const authPort = (authServer.address() as { port: number }).port;
    const kp = await generateKeyPair('RS256', { extractable: true });
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(kp.publicKey)), kid: 'k1', alg: 'RS256' }] });
    sign = (claims) => new SignJWT({ iss: 'https://idp.example.com', aud: 'api', ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('5m').sign(kp.privateKey);
    const htpasswd = `alice:{SHA}${createHash('sha1').update('wonderland').digest('base64')}\n`;
    const manifests = `${gatewayClass}apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: ${PORT}}]
---
${backend('v1', echo)}${backend('ext-auth', { http: authPort }, 'default', 9000)}
apiVersion: v1
kind: Secret
metadata: {name: users, namespace: default}
data: {.htpasswd: ${b64(htpasswd)}}
---
${route('basic', '/basic')}${route('jwt', '/jwt')}${route('office', '/office')}${route('csrf', '/csrf')}${route('extauth', '/extauth')}${route('open', '/')}
${policy('basic', 'basic', '  basicAuth: {users: {name: users}, forwardUsernameHeader: x-user}')}
${policy('jwt', 'jwt', `  jwt:
    providers:
    - name: idp
      issuer: https://idp.example.com
      audiences: [api]
      localJWKS: {type: Inline, inline: '${jwks}'}
      claimToHeaders: [{header: x-sub, claim: sub}]
  authorization:
    defaultAction: Deny
    rules:
    - action: Allow
      principal: {jwt: {provider: idp, claims: [{name: roles, valueType: StringArray, values: [admin]}]}}`)}
${policy('office', 'office', `  authorization:
    defaultAction: Deny
    rules:
    - name: office
      action: Allow
      principal: {clientCIDRs: [10.0.0.0/8]}`)}
${policy('csrf', 'csrf', '  csrf: {additionalOrigins: [https://trusted.example.com]}')}
${policy('extauth', 'extauth', `  extAuth:
    headersToExtAuth: [x-token]
    http:
      backendRefs: [{name: ext-auth, port: 9000}]
      headersToBackend: [x-user-id]`)}`;
    gw = await startGateway(manifests);
    port = gw.port(PORT);
  });
  after(async () => { await Promise.all([gw, echo].map((p) => p?.close())); authServer?.close(); });

  test('basic auth', async () => {
    assert.equal((await request(port, { path: '/basic' })).status, 401);
    const ok = await request(port, { path: '/basic', headers: { authorization: `Basic ${b64('alice:wonderland')}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().headers['x-user']?.[0], 'alice');
    assert.equal((await request(port, { path: '/open' })).status, 200);
  });

  test('JWT valid, missing and expired; authorization by claim', async () => {
    assert.equal((await request(port, { path: '/jwt' })).status, 401);
    const admin = await request(port, { path: '/jwt', headers: { authorization: `Bearer ${await sign({ sub: 'ann', roles: ['admin'] })}` } });
    assert.equal(admin.status, 200);
    assert.equal(admin.json().headers['x-sub']?.[0], 'ann');
    assert.equal((await request(port, { path: '/jwt', headers: { authorization: `Bearer ${await sign({ sub: 'bob', roles: ['user'] })}` } })).status, 403);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
    assert.equal((await request(port, { path: '/jwt', headers: { authorization: `Bearer ${expired}` } })).status, 401);
  });

  test('authorization by client address', async () => {
    const denied = await request(port, { path: '/office' });
    assert.deepEqual([denied.status, denied.body], [403, 'RBAC: access denied']);
  });

  test('CSRF', async () => {
    assert.equal((await request(port, { path: '/csrf', method: 'POST', headers: { origin: 'https://evil.example.com' }, body: 'x' })).status, 403);
    assert.equal((await request(port, { path: '/csrf', method: 'POST', headers: { origin: 'https://trusted.example.com' }, body: 'x' })).status, 200);
  });

  test('external authorization over HTTP', async () => {
    const no = await request(port, { path: '/extauth' });
    assert.deepEqual([no.status, no.body], [403, 'go away']);
    const ok = await request(port, { path: '/extauth', headers: { 'x-token': 'let-me-in' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().headers['x-user-id']?.[0], 'u-42');
  });
});
