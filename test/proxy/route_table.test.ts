// Route tables as Envoy evaluates them: virtual host selection order and route order, with the
// path index returning the same answer as a linear scan would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/proxy/config/errors.js';
import { compileRouteConfiguration } from '../../src/proxy/router/route_table.js';
import type { MatchRequest } from '../../src/proxy/router/request.js';

const readFile = () => Buffer.alloc(0);
const fwd = (cluster: string) => ({ route: { cluster } });

function req(authority: string, path: string, headers: string[] = [], method = 'GET'): MatchRequest {
  const q = path.indexOf('?');
  return { method, path, pathOnly: q < 0 ? path : path.slice(0, q), authority, scheme: 'http', headers, tls: false, peerCertPresented: false };
}

test('virtual host search order: exact, longest suffix wildcard, longest prefix wildcard, *', () => {
  const t = compileRouteConfiguration({
    name: 'rc', ignorePortInHostMatching: true,
    virtualHosts: [
      { name: 'any', domains: ['*'], routes: [{ match: { prefix: '/' }, ...fwd('any') }] },
      { name: 'prefix', domains: ['api.*'], routes: [{ match: { prefix: '/' }, ...fwd('prefix') }] },
      { name: 'suffix', domains: ['*.example.com'], routes: [{ match: { prefix: '/' }, ...fwd('suffix') }] },
      { name: 'longer', domains: ['*.a.example.com'], routes: [{ match: { prefix: '/' }, ...fwd('longer') }] },
      { name: 'exact', domains: ['www.example.com'], routes: [{ match: { prefix: '/' }, ...fwd('exact') }] },
    ],
  }, { readFile });
  const vh = (h: string) => t.findVirtualHost(h)?.name;
  assert.equal(vh('www.example.com'), 'exact');
  assert.equal(vh('WWW.Example.com:8080'), 'exact');
  assert.equal(vh('x.a.example.com'), 'longer');
  assert.equal(vh('b.example.com'), 'suffix');
  assert.equal(vh('api.example.com'), 'suffix'); // suffix wildcards before prefix wildcards
  assert.equal(vh('api.other.org'), 'prefix');
  assert.equal(vh('example.com'), 'any');
  assert.equal(vh('[::1]:80'), 'any');
});

test('first matching route in order wins, whatever the index looks at first', () => {
  const routes = [
    { name: 'hdr', match: { prefix: '/api', headers: [{ name: 'x-v', stringMatch: { exact: '2' } }] }, ...fwd('v2') },
    { name: 'exact', match: { path: '/api/users' }, ...fwd('exact') },
    { name: 'regex', match: { safeRegex: { regex: '/api/[a-z]+' } }, ...fwd('regex') },
    { name: 'api', match: { pathSeparatedPrefix: '/api' }, ...fwd('api') },
    { name: 'ci', match: { prefix: '/CASE', caseSensitive: false }, ...fwd('ci') },
    { name: 'root', match: { prefix: '/' }, ...fwd('root') },
  ];
  const t = compileRouteConfiguration({ name: 'rc', virtualHosts: [{ name: 'v', domains: ['*'], routes }] }, { readFile });
  const r = (path: string, headers: string[] = []) => t.route(req('h', path, headers))?.name;
  assert.equal(r('/api/users', ['x-v', '2']), 'hdr');
  assert.equal(r('/api/users'), 'exact');
  assert.equal(r('/api/users?x=1'), 'exact');
  assert.equal(r('/api/orders'), 'regex');
  assert.equal(r('/api/1'), 'api');
  assert.equal(r('/api'), 'api');
  assert.equal(r('/apis'), 'root');
  assert.equal(r('/case/x'), 'ci');
  assert.equal(r('/'), 'root');
});

test('a thousand routes: the index agrees with a linear scan', () => {
  const routes = [];
  for (let i = 0; i < 1000; i++) {
    routes.push({ name: `p${i}`, match: i % 3 === 0 ? { path: `/r${i}` } : i % 3 === 1 ? { prefix: `/r${i}` } : { pathSeparatedPrefix: `/r${i}` }, ...fwd(`c${i}`) });
  }
  const t = compileRouteConfiguration({ name: 'rc', virtualHosts: [{ name: 'v', domains: ['*'], routes }] }, { readFile });
  const vh = t.virtualHosts[0]!;
  for (const path of ['/r999', '/r1', '/r10', '/r100/x', '/r998/y', '/r2/', '/r22', '/nothing', '/r5x']) {
    const linear = vh.routes.find((rt) => rt.match.matches(req('h', path)))?.name;
    assert.equal(t.route(req('h', path))?.name, linear, path);
  }
});

test('invalid configuration is refused with the field that is wrong', () => {
  const bad = (rc: object) => {
    try { compileRouteConfiguration(rc, { readFile }); } catch (e) { return e instanceof ConfigError ? `${e.field}: ${e.message}` : String(e); }
    return 'accepted';
  };
  assert.match(bad({ name: 'rc', virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ match: { safeRegex: { regex: '(?=x)' } }, ...fwd('c') }] }] }),
    /^virtualHosts\[0\]\.routes\[0\]\.match\.safeRegex\.regex: invalid RE2 regex/);
  assert.match(bad({ name: 'rc', virtualHosts: [{ name: 'a', domains: ['x.com'], routes: [] }, { name: 'b', domains: ['x.com'], routes: [] }] }),
    /virtualHosts\[1\]\.domains\[0\]: only unique values for domains/);
  assert.match(bad({ name: 'rc', virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' },
    typedPerFilterConfig: { 'envoy.filters.http.foo': { '@type': 'type.googleapis.com/envoy.extensions.filters.http.foo.v3.Foo' } } }] }] }),
  /typedPerFilterConfig\.envoy\.filters\.http\.foo: unsupported per-route filter config/);
  assert.match(bad({ name: 'rc', virtualHosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' },
    requestHeadersToAdd: [{ header: { key: ':path', value: '/x' } }] }] }] }), /requestHeadersToAdd\[0\]\.header\.key/);
});
