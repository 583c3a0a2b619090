// custom_response through a real proxy: Envoy Gateway's responseOverride shape (one disabled
// filter per policy, enabled per route with an empty FilterConfig) replaces backend responses by
// status, local replies by status and source, keeps what does not match, and refuses the
// redirect policy.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { get, listen, problemsOf, staticCluster, startProxy, typed, type Running } from '../auth/harness.js';

const CR = 'envoy.extensions.filters.http.custom_response.v3.CustomResponse';
const status = (code: string) => ({ singlePredicate: { input: { name: 's', typedConfig: typed('envoy.type.matcher.v3.HttpResponseStatusCodeMatchInput') }, valueMatch: { exact: code } } });
const local = (isLocal: boolean) => ({ singlePredicate: { input: { name: 'l', typedConfig: typed('envoy.type.matcher.v3.HttpResponseLocalReplyMatchInput') }, valueMatch: { exact: String(isLocal) } } });
const header = (name: string, value: string) => ({ singlePredicate: { input: { name: 'h', typedConfig: typed('envoy.type.matcher.v3.HttpResponseHeaderMatchInput', { headerName: name }) }, valueMatch: { exact: value } } });
const policy = (body: object) => ({ name: 'p', typedConfig: typed('envoy.extensions.http.custom_response.local_response_policy.v3.LocalResponsePolicy', body) });
const filter = (name: string, matchers: object[]) => ({ name, disabled: true, typedConfig: typed(CR, { customResponseMatcher: { matcherList: { matchers } } }) });
const enable = { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: {} };

describe('custom_response', () => {
  let backend: { port: number; close(): void }, p: Running;
  before(async () => {
    // Answers with the status the path names (/status/404), a JSON body and x-kind: backend.
    backend = await listen(http.createServer((req, res) => {
      req.resume();
      const code = Number(/\/status\/(\d+)/.exec(req.url!)?.[1] ?? 200);
      res.writeHead(code, { 'content-type': 'application/json', 'x-kind': req.url!.includes('special') ? 'special' : 'backend' });
      res.end('{"from":"backend"}');
    }));
    const jsonHeader = { appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'Content-Type', value: 'application/json' } };
    p = await startProxy({
      filters: [
        filter('cr/not-found', [{ predicate: status('404'), onMatch: { action: policy({ bodyFormat: { textFormat: 'Not Found' }, responseHeadersToAdd: [{ appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'Content-Type', value: 'text/plain' } }] }) } }]),
        filter('cr/backend-500', [{ predicate: { andMatcher: { predicate: [status('500'), local(false)] } }, onMatch: { action: policy({ bodyFormat: { textFormat: '{"error": "Internal Server Error"}' }, responseHeadersToAdd: [jsonHeader] }) } }]),
        filter('cr/local-503', [
          { predicate: { andMatcher: { predicate: [status('503'), local(true)] } }, onMatch: { action: policy({ bodyFormat: { textFormat: 'try later' }, statusCode: 429 }) } },
          { predicate: header('x-kind', 'special'), onMatch: { action: policy({ body: { inlineString: 'special' }, responseHeadersToAdd: [{ header: { key: 'x-replaced', value: 'yes' } }] }) } },
        ]),
      ],
      clusters: [staticCluster('down', [1])],
      routes: [
        { name: 'nf', prefix: '/nf', perFilter: { 'cr/not-found': enable } },
        { name: 'be', prefix: '/be', perFilter: { 'cr/backend-500': enable } },
        { name: 'down', prefix: '/down', cluster: 'down', perFilter: { 'cr/local-503': enable } },
        { name: 'hdr', prefix: '/hdr', perFilter: { 'cr/local-503': enable } },
        { name: 'plain', prefix: '/' },
      ],
    }, { port: backend.port, seen: [], close: () => backend.close() });
  });
  after(async () => { await p.close(); backend.close(); });

  test('a backend status is replaced by the policy body and headers, keeping the status', async () => {
    const r = await get(p.port, '/nf/status/404');
    assert.equal(r.status, 404);
    assert.equal(r.body, 'Not Found');
    assert.equal(r.headers['content-type'], 'text/plain');
    const ok = await get(p.port, '/nf/status/200');
    assert.equal(ok.body, '{"from":"backend"}');
  });

  test('a backend-only rule matches backend responses, not local replies', async () => {
    const r = await get(p.port, '/be/status/500');
    assert.equal(r.status, 500);
    assert.equal(r.body, '{"error": "Internal Server Error"}');
    assert.equal(r.headers['content-type'], 'application/json');
  });

  test('a local reply (no upstream) is replaced with a new status; response headers match too', async () => {
    const r = await get(p.port, '/down');
    assert.equal(r.status, 429);
    assert.equal(r.body, 'try later');
    assert.equal(r.headers['content-type'], 'text/plain');
    const h = await get(p.port, '/hdr/special');
    assert.equal(h.status, 200);
    assert.equal(h.body, 'special');
    assert.equal(h.headers['x-replaced'], 'yes');
    // A backend 503 is not a local reply.
    assert.equal((await get(p.port, '/hdr/status/503')).body, '{"from":"backend"}');
  });

  test('routes that do not enable the filter are untouched', async () => {
    const r = await get(p.port, '/status/404');
    assert.equal(r.status, 404);
    assert.equal(r.body, '{"from":"backend"}');
  });

  test('the redirect policy is refused with its field', async () => {
    const redirect = { name: 'r', typedConfig: typed('envoy.extensions.http.custom_response.redirect_policy.v3.RedirectPolicy', { uri: 'https://example.com/' }) };
    const problems = await problemsOf({ filters: [filter('cr', [{ predicate: status('404'), onMatch: { action: redirect } }])], routes: [{ name: 'r', prefix: '/' }] });
    assert.match(problems.join('\n'), /customResponseMatcher\.matcherList\.matchers\[0\]\.onMatch\.action\.typedConfig: the redirect policy \(an internal redirect\) is not supported/);
  });
});
