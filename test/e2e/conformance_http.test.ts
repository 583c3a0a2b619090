// Gateway API conformance scenarios (GATEWAY-HTTP core and extended, TLS termination, GRPC) that
// one machine can express, run the way a user runs egts: Gateway API manifests → `egts translate
// --to xds` → `egts proxy`, with echo backends that report what they received.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { makeCa, type Pem } from './certs.js';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, sleep, startEcho, type Echo } from './support.js';

const HTTP = 18080;
const HOSTNAMED = 18081;
const HTTPS = 18443;

function routes(): string {
  const route = (name: string, spec: string, section = 'http') => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: ${section}}]
${spec}
---
`;
  return [
    route('matching', `
  hostnames: [matching.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /}}]
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /v2}}, {headers: [{name: version, value: two}]}]
    backendRefs: [{name: v2, port: 8080}]
  - matches: [{path: {type: Exact, value: /exact}}]
    backendRefs: [{name: v3, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /method}, method: PATCH}]
    backendRefs: [{name: v2, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /query}, queryParams: [{name: animal, value: whale}]}]
    backendRefs: [{name: v2, port: 8080}]
  - matches: [{path: {type: RegularExpression, value: '/regex/[0-9]+'}}]
    backendRefs: [{name: v3, port: 8080}]`),
    route('order', `
  hostnames: [order.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /match}}]
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /match/exact/one}}]
    backendRefs: [{name: v2, port: 8080}]
  - matches: [{path: {type: Exact, value: /match/exact}}]
    backendRefs: [{name: v3, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /match}, headers: [{name: x, value: y}], queryParams: [{name: q, value: r}]}]
    backendRefs: [{name: v2, port: 8080}]`),
    route('modifiers', `
  hostnames: [headers.example.com]
  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-set, value: set-value}]
        add: [{name: x-add, value: add-value}]
        remove: [x-remove]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: x-resp-set, value: r1}]
        add: [{name: x-resp-add, value: r2}]
        remove: [x-echo-backend]
    backendRefs: [{name: v1, port: 8080}]`),
    route('redirects', `
  hostnames: [redirect.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /scheme-https}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 302}}]
  - matches: [{path: {type: PathPrefix, value: /host-301}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: other.example.com, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /port}}]
    filters: [{type: RequestRedirect, requestRedirect: {port: 8083, statusCode: 302}}]
  - matches: [{path: {type: PathPrefix, value: /https-443}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, port: 443, statusCode: 302}}]
  - matches: [{path: {type: PathPrefix, value: /prefix}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /replaced}, statusCode: 302}}]
  - matches: [{path: {type: PathPrefix, value: /full}}]
    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /full-replaced}, statusCode: 302}}]`),
    route('rewrites', `
  hostnames: [rewrite.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /prefix/one}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /one}}}]
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /strip}}]
    filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /full}}]
    filters: [{type: URLRewrite, urlRewrite: {hostname: rewritten.example.com, path: {type: ReplaceFullPath, replaceFullPath: /one}}}]
    backendRefs: [{name: v1, port: 8080}]`),
    route('weights', `
  hostnames: [weights.example.com]
  rules:
  - backendRefs: [{name: v1, port: 8080, weight: 70}, {name: v2, port: 8080, weight: 30}]`),
    route('mirror', `
  hostnames: [mirror.example.com]
  rules:
  - filters: [{type: RequestMirror, requestMirror: {backendRef: {name: mirror, port: 8080}}}]
    backendRefs: [{name: v1, port: 8080}]`),
    route('timeouts', `
  hostnames: [timeout.example.com]
  rules:
  - timeouts: {request: 500ms}
    backendRefs: [{name: v1, port: 8080}]`),
    route('retries', `
  hostnames: [retry.example.com]
  rules:
  - retry: {attempts: 2, codes: [503], backoff: 10ms}
    backendRefs: [{name: v1, port: 8080}]`),
    route('invalid', `
  hostnames: [invalid.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /missing}}]
    backendRefs: [{name: does-not-exist, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /cross}}]
    backendRefs: [{name: other-ns-backend, namespace: other, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /kind}}]
    backendRefs: [{group: unknown.example.com, kind: Thing, name: v1, port: 8080}]`),
    route('hostnamed', `
  hostnames: [foo.example.com, bar.other.com]
  rules:
  - backendRefs: [{name: v3, port: 8080}]`, 'hostnamed'),
    route('secure', `
  hostnames: [secure.example.com]
  rules:
  - backendRefs: [{name: v1, port: 8080}]`, 'https'),
    route('cors', `
  hostnames: [cors.example.com]
  rules:
  - filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, OPTIONS]
        allowHeaders: [x-header-1]
        exposeHeaders: [x-header-3]
        maxAge: 3600
        allowCredentials: true
    backendRefs: [{name: v1, port: 8080}]`),
    route('protocols', `
  hostnames: [protocols.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /h2c}}]
    backendRefs: [{name: h2c-backend, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /ws}}]
    backendRefs: [{name: ws-backend, port: 8080}]`),
  ].join('');
}

describe('Gateway API conformance scenarios through egts translate + egts proxy', () => {
  let v1: Echo, v2: Echo, v3: Echo, mirror: Echo, other: Echo, gw: GatewayProxy, ca: ReturnType<typeof makeCa>, cert: Pem;

  before(async () => {
    [v1, v2, v3, mirror, other] = await Promise.all(['v1', 'v2', 'v3', 'mirror', 'other'].map((n) => startEcho(n)));
    ca = makeCa('gw-ca');
    cert = ca.issue('secure', ['secure.example.com']);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const manifests = `${gatewayClass}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners:
  - {name: http, protocol: HTTP, port: ${HTTP}}
  - {name: hostnamed, protocol: HTTP, port: ${HOSTNAMED}, hostname: '*.example.com'}
  - name: https
    protocol: HTTPS
    port: ${HTTPS}
    hostname: secure.example.com
    tls: {mode: Terminate, certificateRefs: [{name: secure-cert}]}
---
apiVersion: v1
kind: Secret
metadata: {name: secure-cert, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: ${b64(cert.cert)}, tls.key: ${b64(cert.key)}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
${backend('v1', v1)}${backend('v2', v2)}${backend('v3', v3)}${backend('mirror', mirror)}${backend('other-ns-backend', other, 'other')}
${backend('h2c-backend', v1).replace('protocol: TCP}]\n---\napiVersion: discovery', 'protocol: TCP, appProtocol: kubernetes.io/h2c}]\n---\napiVersion: discovery')}
${backend('ws-backend', v2).replace('protocol: TCP}]\n---\napiVersion: discovery', 'protocol: TCP, appProtocol: kubernetes.io/ws}]\n---\napiVersion: discovery')}
${routes()}`;
    gw = await startGateway(manifests);
  });

  after(async () => { await Promise.all([gw, v1, v2, v3, mirror, other].map((p) => p?.close())); });

  const get = (host: string, path: string, o: Parameters<typeof request>[1] = {}) => request(gw.port(HTTP), { host, path, ...o });
  const backendOf = async (host: string, path: string, o: Parameters<typeof request>[1] = {}) => (await get(host, path, o)).json().backend;

  test('HTTPRouteMatching: path prefix, exact, headers, method, query params, regex', async () => {
    const h = 'matching.example.com';
    assert.equal(await backendOf(h, '/'), 'v1');
    assert.equal(await backendOf(h, '/v2'), 'v2');
    assert.equal(await backendOf(h, '/v2/example'), 'v2');
    assert.equal(await backendOf(h, '/v2example'), 'v1');
    assert.equal(await backendOf(h, '/', { headers: { version: 'two' } }), 'v2');
    assert.equal(await backendOf(h, '/exact'), 'v3');
    assert.equal(await backendOf(h, '/exact/x'), 'v1');
    assert.equal(await backendOf(h, '/method', { method: 'PATCH' }), 'v2');
    assert.equal(await backendOf(h, '/method'), 'v1');
    assert.equal(await backendOf(h, '/query?animal=whale'), 'v2');
    assert.equal(await backendOf(h, '/query?animal=dolphin'), 'v1');
    assert.equal(await backendOf(h, '/regex/123'), 'v3');
  });

  test('HTTPRoutePathMatchOrder: exact beats prefix, longer prefix beats shorter, more matches win ties', async () => {
    const h = 'order.example.com';
    assert.equal(await backendOf(h, '/match/exact'), 'v3');
    assert.equal(await backendOf(h, '/match/exact/one'), 'v2');
    assert.equal(await backendOf(h, '/match/other'), 'v1');
    assert.equal(await backendOf(h, '/match/other?q=r', { headers: { x: 'y' } }), 'v2');
  });

  test('hostnames: route hostnames, listener hostnames and unknown hosts', async () => {
    assert.equal((await get('unknown.example.org', '/')).status, 404);
    const hn = gw.port(HOSTNAMED);
    assert.equal((await request(hn, { host: 'foo.example.com', path: '/' })).json().backend, 'v3');
    // bar.other.com is not within the listener's *.example.com.
    assert.equal((await request(hn, { host: 'bar.other.com', path: '/' })).status, 404);
    assert.equal((await request(hn, { host: 'matching.example.com', path: '/' })).status, 404);
  });

  test('HTTPRouteRequestHeaderModifier and HTTPRouteResponseHeaderModifier', async () => {
    const r = await get('headers.example.com', '/', { headers: { 'x-set': 'original', 'x-add': 'original', 'x-remove': 'gone' } });
    const h = r.json().headers;
    assert.deepEqual(h['x-set'], ['set-value']);
    assert.deepEqual(h['x-add'], ['original', 'add-value']);
    assert.equal(h['x-remove'], undefined);
    assert.equal(r.headers['x-resp-set'], 'r1');
    assert.equal(r.headers['x-resp-add'], 'r2');
    assert.equal(r.headers['x-echo-backend'], undefined);
  });

  test('HTTPRouteRedirect*: scheme, hostname, port, path and status codes', async () => {
    const h = 'redirect.example.com';
    const loc = async (path: string, status: number) => {
      const r = await get(h, path);
      assert.equal(r.status, status, path);
      return r.headers.location;
    };
    assert.equal(await loc('/scheme-https/x', 302), `https://${h}/scheme-https/x`);
    // Without a scheme or port in the filter, the port is the Gateway listener's (18080 here).
    assert.equal(await loc('/host-301', 301), `http://other.example.com:${HTTP}/host-301`);
    assert.equal(await loc('/port', 302), `http://${h}:8083/port`);
    assert.equal(await loc('/https-443', 302), `https://${h}/https-443`);
    assert.equal(await loc('/prefix/a?b=c', 302), `http://${h}:${HTTP}/replaced/a?b=c`);
    assert.equal(await loc('/full/a', 302), `http://${h}:${HTTP}/full-replaced`);
  });

  test('HTTPRouteRewritePath and HTTPRouteRewriteHost', async () => {
    const h = 'rewrite.example.com';
    assert.equal((await get(h, '/prefix/one/two')).json().path, '/one/two');
    assert.equal((await get(h, '/strip/x')).json().path, '/x');
    assert.equal((await get(h, '/strip')).json().path, '/');
    const full = (await get(h, '/full/anything')).json();
    assert.equal(full.path, '/one');
    assert.equal(full.host, 'rewritten.example.com');
  });

  test('HTTPRouteWeight: traffic split within tolerance', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const b = await backendOf('weights.example.com', '/');
      counts[b] = (counts[b] ?? 0) + 1;
    }
    assert.ok(Math.abs((counts.v1 ?? 0) - 70) <= 5, JSON.stringify(counts));
  });

  test('HTTPRouteRequestMirror: the mirror backend gets a copy', async () => {
    await get('mirror.example.com', '/mirrored-path');
    let seen: any[] = [];
    for (let i = 0; i < 20 && !seen.length; i++) {
      await sleep(50);
      seen = (await request(mirror.http, { path: '/__echo/requests' })).json().filter((x: any) => x.path === '/mirrored-path');
    }
    assert.equal(seen.length, 1);
    assert.match(seen[0].host, /^mirror\.example\.com/);
  });

  test('HTTPRouteRequestTimeout: 504 after the route timeout', async () => {
    assert.equal((await get('timeout.example.com', '/', { headers: { 'x-echo-delay-ms': '1500' } })).status, 504);
    assert.equal((await get('timeout.example.com', '/')).status, 200);
  });

  // HTTPRoute retry (GEP-1731): attempts 2 on 503, so two failures are hidden and three are not.
  test('HTTPRouteRetry: retried on the configured codes', async () => {
    const key = `conf-${Date.now()}`;
    assert.equal((await get('retry.example.com', '/', { headers: { 'x-echo-fail-times': '2', 'x-echo-fail-key': key } })).status, 200);
    const key2 = `conf2-${Date.now()}`;
    assert.equal((await get('retry.example.com', '/', { headers: { 'x-echo-fail-times': '3', 'x-echo-fail-key': key2 } })).status, 503);
  });

  test('invalid backend references answer 500', async () => {
    const h = 'invalid.example.com';
    assert.equal((await get(h, '/missing')).status, 500);
    assert.equal((await get(h, '/cross')).status, 500);
    assert.equal((await get(h, '/kind')).status, 500);
  });

  test('HTTPRouteHTTPSListener: TLS termination with the Gateway certificate', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: gw.port(HTTPS), servername: 'secure.example.com', headers: { host: 'secure.example.com' }, path: '/secure', ca: ca.cert, agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => { b += d; });
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    const j = JSON.parse(body);
    assert.equal(j.backend, 'v1');
    assert.deepEqual(j.headers['x-forwarded-proto'], ['https']);
  });

  test('backend protocols: h2c (appProtocol kubernetes.io/h2c) and WebSocket', async () => {
    const j = (await get('protocols.example.com', '/h2c')).json();
    assert.equal(j.proto, 'HTTP/2.0');
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port(HTTP)}/ws`, { headers: { host: 'protocols.example.com' } });
    const first = await new Promise<string>((resolve, reject) => { ws.once('message', (m) => resolve(m.toString())); ws.on('error', reject); });
    ws.close();
    assert.equal(JSON.parse(first).backend, 'v2');
  });

  test('HTTPRouteCORS: preflight answered by the gateway, CORS headers on responses', async () => {
    const h = 'cors.example.com';
    const pre = await get(h, '/', { method: 'OPTIONS', headers: { origin: 'https://a.bar.com', 'access-control-request-method': 'GET' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://a.bar.com');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET, OPTIONS');
    assert.equal(pre.headers['access-control-allow-headers'], 'x-header-1');
    assert.equal(pre.headers['access-control-max-age'], '3600');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    const denied = await get(h, '/', { method: 'OPTIONS', headers: { origin: 'https://evil.com', 'access-control-request-method': 'GET' } });
    assert.equal(denied.headers['access-control-allow-origin'], undefined);
    const simple = await get(h, '/', { headers: { origin: 'https://www.foo.com' } });
    assert.equal(simple.json().backend, 'v1');
    assert.equal(simple.headers['access-control-allow-origin'], 'https://www.foo.com');
    assert.equal(simple.headers['access-control-expose-headers'], 'x-header-3');
  });

  test('the readiness listener answers /ready', async () => {
    void grpc;
    assert.equal((await request(gw.port(19003), { path: '/ready' })).status, 200);
  });
});
