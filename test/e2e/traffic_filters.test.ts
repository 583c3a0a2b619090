// Traffic policies end to end: BackendTrafficPolicy and ClientTrafficPolicy manifests →
// `egts translate --to xds` → `egts proxy` (two worker processes), with echo backends. Local rate
// limits (429 after N, shared by the workers, x-ratelimit-* headers), fault injection (abort and
// delay), response compression, late response header mutation and request buffering.
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, startEcho, type Echo } from './support.js';

const PORT = 18090;

function manifests(echo: Echo): string {
  const route = (name: string, prefix: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{name: echo, port: 8080}]
---
`;
  const btp = (name: string, target: string, spec: string) => `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: ${target}}]
${spec}
---
`;
  return `${gatewayClass}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, port: ${PORT}, protocol: HTTP}]
---
${backend('echo', echo)}
${route('limited', '/limited')}
${route('per-user', '/per-user')}
${route('abort', '/abort')}
${route('delay', '/delay')}
${route('gzip', '/gzip')}
${route('buffered', '/buffered')}
${route('plain', '/plain')}
${btp('limit', 'limited', `  rateLimit:
    type: Local
    local:
      rules:
      - limit: {requests: 3, unit: Hour}`)}
${btp('per-user', 'per-user', `  rateLimit:
    type: Local
    local:
      rules:
      - clientSelectors: [{headers: [{name: x-user, type: Distinct}]}]
        limit: {requests: 2, unit: Hour}`)}
${btp('abort', 'abort', `  faultInjection:
    abort: {httpStatus: 418}`)}
${btp('delay', 'delay', `  faultInjection:
    delay: {fixedDelay: 400ms}`)}
${btp('gzip', 'gzip', `  compression:
  - type: Gzip`)}
${btp('buffered', 'buffered', `  requestBuffer:
    limit: 1Ki`)}
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: late, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  headers:
    lateResponseHeaders:
      add: [{name: x-late, value: late-value}]
      remove: [x-echo-remove]
`;
}

describe('traffic policies through egts translate and egts proxy', () => {
  let echo: Echo, gw: GatewayProxy, port: number;

  before(async () => {
    echo = await startEcho('traffic');
    gw = await startGateway(manifests(echo));
    port = gw.port(PORT);
  });

  after(async () => { await Promise.all([gw, echo].map((p) => p?.close())); });

  test('a local rate limit answers 429 after N requests, counted across worker processes', async () => {
    const statuses: number[] = [];
    let last;
    // A new connection per request: the workers take turns, the bucket is the proxy's.
    for (let i = 0; i < 5; i++) { last = await request(port, { path: '/limited', agent: false }); statuses.push(last.status); if (i === 0) assert.equal(last.headers['x-ratelimit-limit'], '3'); }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.equal(last!.body, 'local_rate_limited');
    assert.equal(last!.headers['x-ratelimit-remaining'], '0');
    assert.ok(Number(last!.headers['x-ratelimit-reset']) > 3500);
    // Other routes are not limited.
    assert.equal((await request(port, { path: '/plain' })).status, 200);
  });

  test('a distinct header selector gives every value its own bucket', async () => {
    const as = [];
    for (let i = 0; i < 3; i++) as.push((await request(port, { path: '/per-user', headers: { 'x-user': 'a' } })).status);
    const b = (await request(port, { path: '/per-user', headers: { 'x-user': 'b' } })).status;
    assert.deepEqual(as, [200, 200, 429]);
    assert.equal(b, 200);
  });

  test('fault injection aborts with the configured status', async () => {
    const r = await request(port, { path: '/abort' });
    assert.equal(r.status, 418);
    assert.equal(r.body, 'fault filter abort');
  });

  test('fault injection delays the request', async () => {
    const start = Date.now();
    const r = await request(port, { path: '/delay' });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - start >= 380, `took ${Date.now() - start} ms`);
  });

  test('gzip compresses responses for clients that accept it, and not for others', async () => {
    const big = 'x'.repeat(5000);
    const r = await request(port, { path: '/gzip', method: 'POST', body: big, headers: { 'accept-encoding': 'gzip', 'content-type': 'text/plain' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(String(r.headers.vary), /accept-encoding/i);
    const body = JSON.parse(zlib.gunzipSync(r.raw).toString());
    assert.equal(body.body.length, big.length);
    // The backend was asked for an uncompressed body.
    assert.equal(body.headers['accept-encoding'], undefined);
    const plain = await request(port, { path: '/gzip', method: 'POST', body: big, headers: { 'content-type': 'text/plain' } });
    assert.equal(plain.headers['content-encoding'], undefined);
  });

  test('late response headers are added and removed on every response', async () => {
    const r = await request(port, { path: '/plain', headers: { 'x-echo-set-header': 'x-echo-remove: 1' } });
    assert.equal(r.headers['x-late'], 'late-value');
    assert.equal(r.headers['x-echo-remove'], undefined);
  });

  test('a buffered route takes bodies up to its limit and refuses larger ones with 413', async () => {
    const small = await request(port, { path: '/buffered', method: 'POST', body: 'y'.repeat(800) });
    assert.equal(small.status, 200);
    const big = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/buffered', headers: { 'transfer-encoding': 'chunked' } }, (res) => { res.resume(); resolve(res.statusCode!); });
      req.on('error', reject);
      req.write('z'.repeat(700));
      setTimeout(() => req.end('z'.repeat(700)), 50);
    });
    assert.equal(big, 413);
  });
});
