// HTTP routing end to end: echo backends and the proxy as real processes, configured with the
// Envoy resources Envoy Gateway writes; a plain HTTP client checks what the backends received.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { request, sleep, startEcho, startProxy, type Echo, type ProxyProc } from './support.js';

describe('HTTP routing through egts proxy', () => {
  let b1: Echo, b2: Echo, mirror: Echo, proxy: ProxyProc, port: number;

  before(async () => {
    [b1, b2, mirror] = await Promise.all([startEcho('b1'), startEcho('b2'), startEcho('mirror')]);
    const be = (e: Echo, weight?: number) => ({ host: '127.0.0.1', port: e.http, weight });
    const vh = (name: string, domains: string[], routes: object[], extra: object = {}) => ({ name, domains, routes, ...extra });
    proxy = await startProxy({
      listeners: [httpListener('http', 'http-routes', { filters: [{ name: 'envoy.filters.http.cors', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } }] })],
      routes: [routeConfig('http-routes', [
        vh('exact-host', ['exact.example.com'], [route('exact-host', { prefix: '/' }, forward('c-b2'))]),
        vh('wildcard', ['*.wild.example.com'], [route('wild', { prefix: '/' }, forward('c-b2'), { responseHeadersToAdd: [{ header: { key: 'x-vhost', value: 'wildcard' } }] })]),
        vh('any', ['*'], [
          route('exact-path', { path: '/exact' }, forward('c-b2')),
          route('separated', { pathSeparatedPrefix: '/sep' }, forward('c-b2')),
          route('regex', { safeRegex: { regex: '/re/[0-9]+' } }, forward('c-b2')),
          route('header', { prefix: '/', headers: [{ name: 'x-to', stringMatch: { exact: 'b2' } }] }, forward('c-b2')),
          route('query', { prefix: '/', queryParameters: [{ name: 'to', stringMatch: { exact: 'b2' } }] }, forward('c-b2')),
          route('method', { prefix: '/', headers: [{ name: ':method', stringMatch: { exact: 'DELETE' } }] }, forward('c-b2')),
          route('req-headers', { prefix: '/headers' }, forward('c-b1'), {
            requestHeadersToAdd: [
              { header: { key: 'x-added', value: 'a' } },
              { header: { key: 'x-set', value: 'set' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
            ],
            requestHeadersToRemove: ['x-remove'],
            responseHeadersToAdd: [{ header: { key: 'x-resp', value: 'r' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
            responseHeadersToRemove: ['x-echo-backend'],
          }),
          route('redirect', { prefix: '/redirect' }, { redirect: { schemeRedirect: 'https', hostRedirect: 'redirected.example.com', portRedirect: 8443, prefixRewrite: '/new', responseCode: 'FOUND' } }),
          route('redirect-scheme', { prefix: '/to-https' }, { redirect: { schemeRedirect: 'https' } }),
          route('rewrite-prefix', { pathSeparatedPrefix: '/old' }, forward('c-b1', { prefixRewrite: '/new' })),
          route('rewrite-full', { pathSeparatedPrefix: '/full' }, forward('c-b1', { regexRewrite: { pattern: { regex: '^/full(/.*)?$' }, substitution: '/replaced' } })),
          route('rewrite-host', { prefix: '/host' }, forward('c-b1', { hostRewriteLiteral: 'rewritten.example.com', appendXForwardedHost: true })),
          route('direct', { prefix: '/direct' }, { directResponse: { status: 418, body: { inlineString: 'teapot' } } }),
          route('missing-cluster', { prefix: '/invalid' }, forward('no-such-cluster', { clusterNotFoundResponseCode: 'INTERNAL_SERVER_ERROR' })),
          route('no-endpoints', { prefix: '/empty' }, forward('c-empty')),
          route('weights', { prefix: '/weights' }, forward('c-weighted')),
          route('mirror', { prefix: '/mirror' }, forward('c-b1', { requestMirrorPolicies: [{ cluster: 'c-mirror' }] })),
          route('timeout', { prefix: '/timeout' }, forward('c-b1', { timeout: '0.3s' })),
          route('retry', { prefix: '/retry' }, forward('c-b1', { retryPolicy: { retryOn: '5xx', numRetries: 2, retryBackOff: { baseInterval: '0.01s' } } })),
          route('cors', { prefix: '/cors' }, forward('c-b1'), { typedPerFilterConfig: { 'envoy.filters.http.cors': {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
            allowOriginStringMatch: [{ exact: 'https://app.example.com' }, { safeRegex: { regex: 'https://.*\\.trusted\\.com' } }],
            allowMethods: 'GET, POST', allowHeaders: 'x-custom', exposeHeaders: 'x-exposed', maxAge: '600', allowCredentials: true } } }),
          route('default', { prefix: '/' }, forward('c-b1')),
        ]),
      ])],
      clusters: ['c-b1', 'c-b2', 'c-empty', 'c-weighted', 'c-mirror'].map((n) => cluster(n)),
      endpoints: [
        endpoints('c-b1', [be(b1)]),
        endpoints('c-b2', [be(b2)]),
        endpoints('c-empty', []),
        endpoints('c-weighted', [be(b1, 80), be(b2, 20)]),
        endpoints('c-mirror', [be(mirror)]),
      ],
    });
    port = proxy.ports.http!;
  });

  after(async () => {
    await Promise.all([proxy, b1, b2, mirror].map((p) => p?.close()));
  });

  test('forwards to the backend with the forwarding headers Envoy adds', async () => {
    const r = await request(port, { path: '/some/path?q=1', host: 'anything.example.com' });
    assert.equal(r.status, 200);
    const j = r.json();
    assert.equal(j.backend, 'b1');
    assert.equal(j.path, '/some/path?q=1');
    assert.equal(j.host, 'anything.example.com');
    assert.deepEqual(j.headers['x-forwarded-proto'], ['http']);
    assert.deepEqual(j.headers['x-forwarded-for'], ['127.0.0.1']);
    assert.match(j.headers['x-request-id'][0], /^[0-9a-f-]{36}$/);
  });

  test('virtual hosts: exact, wildcard and catch-all, port ignored', async () => {
    assert.equal((await request(port, { host: 'exact.example.com:8080' })).json().backend, 'b2');
    const w = await request(port, { host: 'a.wild.example.com' });
    assert.equal(w.json().backend, 'b2');
    assert.equal(w.headers['x-vhost'], 'wildcard');
    assert.equal((await request(port, { host: 'wild.example.com' })).json().backend, 'b1');
    assert.equal((await request(port, { host: 'EXACT.example.com' })).json().backend, 'b2');
  });

  test('path matching: exact, separated prefix, regex', async () => {
    assert.equal((await request(port, { path: '/exact' })).json().backend, 'b2');
    assert.equal((await request(port, { path: '/exact/more' })).json().backend, 'b1');
    assert.equal((await request(port, { path: '/exact?x=1' })).json().backend, 'b2');
    assert.equal((await request(port, { path: '/sep' })).json().backend, 'b2');
    assert.equal((await request(port, { path: '/sep/x' })).json().backend, 'b2');
    assert.equal((await request(port, { path: '/separate' })).json().backend, 'b1');
    assert.equal((await request(port, { path: '/re/123' })).json().backend, 'b2');
    assert.equal((await request(port, { path: '/re/12a' })).json().backend, 'b1');
  });

  test('header, query parameter and method matches', async () => {
    assert.equal((await request(port, { path: '/x', headers: { 'x-to': 'b2' } })).json().backend, 'b2');
    assert.equal((await request(port, { path: '/x?to=b2' })).json().backend, 'b2');
    assert.equal((await request(port, { path: '/x?to=b3' })).json().backend, 'b1');
    assert.equal((await request(port, { path: '/x', method: 'DELETE' })).json().backend, 'b2');
  });

  test('request and response header modifiers', async () => {
    const r = await request(port, { path: '/headers', headers: { 'x-set': 'old', 'x-remove': 'gone', 'x-added': 'orig' } });
    const h = r.json().headers;
    assert.deepEqual(h['x-added'], ['orig', 'a']);
    assert.deepEqual(h['x-set'], ['set']);
    assert.equal(h['x-remove'], undefined);
    assert.equal(r.headers['x-resp'], 'r');
    assert.equal(r.headers['x-echo-backend'], undefined);
  });

  test('redirects with scheme, host, port, path and status', async () => {
    const r = await request(port, { path: '/redirect/x?y=1', host: 'example.com' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://redirected.example.com:8443/new/x?y=1');
    const s = await request(port, { path: '/to-https/a', host: 'example.com:80' });
    assert.equal(s.status, 301);
    assert.equal(s.headers.location, 'https://example.com/to-https/a');
  });

  test('path and host rewrites', async () => {
    assert.equal((await request(port, { path: '/old/a/b?c=d' })).json().path, '/new/a/b?c=d');
    assert.equal((await request(port, { path: '/full/a/b?c=d' })).json().path, '/replaced?c=d');
    const h = (await request(port, { path: '/host', host: 'orig.example.com' })).json();
    assert.equal(h.host, 'rewritten.example.com');
    assert.deepEqual(h.headers['x-forwarded-host'], ['orig.example.com']);
  });

  test('direct responses, missing clusters, empty clusters and unknown routes', async () => {
    const d = await request(port, { path: '/direct' });
    assert.equal(d.status, 418);
    assert.equal(d.body, 'teapot');
    assert.equal((await request(port, { path: '/invalid' })).status, 500);
    const e = await request(port, { path: '/empty' });
    assert.equal(e.status, 503);
    assert.equal(e.body, 'no healthy upstream');
  });

  test('weighted backends split traffic by locality weight', async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const b = (await request(port, { path: '/weights' })).json().backend;
      counts[b] = (counts[b] ?? 0) + 1;
    }
    // 80/20 within the Gateway API conformance tolerance (5% of the total).
    assert.ok(Math.abs((counts.b1 ?? 0) - 160) <= 10, JSON.stringify(counts));
  });

  test('mirrors the request to the mirror cluster with a -shadow host', async () => {
    const r = await request(port, { path: '/mirror/x', host: 'shop.example.com', method: 'POST', body: 'payload' });
    assert.equal(r.json().backend, 'b1');
    // The mirror is fire-and-forget: look at what the mirror backend received.
    let seen: any[] = [];
    for (let i = 0; i < 20 && !seen.length; i++) {
      await sleep(50);
      seen = (await request(mirror.http, { path: '/__echo/requests' })).json().filter((x: any) => x.path === '/mirror/x');
    }
    assert.equal(seen.length, 1);
    assert.equal(seen[0].host, 'shop.example.com-shadow');
    assert.equal(seen[0].method, 'POST');
    assert.equal(seen[0].body, 'payload');
  });

  test('route timeout answers 504', async () => {
    const r = await request(port, { path: '/timeout', headers: { 'x-echo-delay-ms': '1000' } });
    assert.equal(r.status, 504);
    assert.equal(r.body, 'upstream request timeout');
    assert.equal((await request(port, { path: '/timeout', headers: { 'x-echo-delay-ms': '10' } })).status, 200);
  });

  test('retries on 5xx until the backend answers', async () => {
    const key = `k${Date.now()}`;
    const ok = await request(port, { path: '/retry', headers: { 'x-echo-fail-times': '2', 'x-echo-fail-key': key } });
    assert.equal(ok.status, 200);
    const key2 = `k2${Date.now()}`;
    const fail = await request(port, { path: '/retry', headers: { 'x-echo-fail-times': '3', 'x-echo-fail-key': key2 } });
    assert.equal(fail.status, 503);
    const key3 = `k3${Date.now()}`;
    const reset = await request(port, { path: '/retry', headers: { 'x-echo-fail-times': '1', 'x-echo-fail-key': key3, 'x-echo-fail-mode': 'reset' } });
    assert.equal(reset.status, 200);
  });

  test('CORS: preflight answered by the gateway, headers on actual requests', async () => {
    const pre = await request(port, { path: '/cors', method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(pre.headers['access-control-allow-methods'], 'GET, POST');
    assert.equal(pre.headers['access-control-allow-headers'], 'x-custom');
    assert.equal(pre.headers['access-control-max-age'], '600');
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.equal(pre.headers['x-echo-backend'], undefined);
    const actual = await request(port, { path: '/cors', headers: { origin: 'https://x.trusted.com' } });
    assert.equal(actual.headers['access-control-allow-origin'], 'https://x.trusted.com');
    assert.equal(actual.headers['access-control-expose-headers'], 'x-exposed');
    const denied = await request(port, { path: '/cors', headers: { origin: 'https://evil.com' } });
    assert.equal(denied.headers['access-control-allow-origin'], undefined);
  });

  test('request bodies, keep-alive and pipelining', async () => {
    const big = 'x'.repeat(200_000);
    const r = await request(port, { path: '/body', method: 'PUT', body: big });
    assert.equal(r.json().body.length, 65536);
    const net = await import('node:net');
    const s = net.connect(port, '127.0.0.1');
    const got = await new Promise<string>((resolve) => {
      let buf = '';
      s.on('data', (d) => { buf += d; if ((buf.match(/"backend"/g) ?? []).length === 3) resolve(buf); });
      s.write('GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /p3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc');
    });
    s.destroy();
    const paths = [...got.matchAll(/"path":"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(paths, ['/p1', '/p2', '/p3']);
  });

  test('large bodies stream both ways with flow control', async () => {
    const http = await import('node:http');
    // 20 MB response read slowly: the proxy must pause the upstream rather than buffer it all.
    const received = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/big', headers: { 'x-echo-body-bytes': String(20 << 20) }, agent: false }, (res) => {
        let n = 0;
        res.on('data', (d: Buffer) => { n += d.length; if (n < 4 << 20) { res.pause(); setTimeout(() => res.resume(), 1); } });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(received, 20 << 20);
    // 8 MB upload in chunks (chunked transfer encoding).
    const up = await new Promise<any>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => { b += d; });
        res.on('end', () => resolve(JSON.parse(b)));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 << 10, 'y');
      for (let i = 0; i < 128; i++) req.write(chunk);
      req.end();
    });
    assert.equal(up.body.length, 65536); // echo reports the first 64 KiB of what it got
    assert.deepEqual(up.headers['transfer-encoding'], ['chunked']);
  });

  test('headers with underscores are rejected, as configured', async () => {
    assert.equal((await request(port, { path: '/', headers: { 'x_bad': '1' } })).status, 400);
  });
});
