// Upstream HTTP filters (a cluster's HttpProtocolOptions http_filters, as Envoy Gateway writes
// them for backend credential injection and admission control) and credential_injector as a
// route-enabled HTTP filter, through a real proxy and backend.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { get, listen, problemsOf, staticCluster, startBackend, startProxy, typed, type Backend, type Running } from '../auth/harness.js';

const HPO = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const codec = { name: 'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec', typedConfig: typed('envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec') };
const withFilters = (filters: object[]) => ({ typedExtensionProtocolOptions: { [HPO]: typed(HPO, { explicitHttpConfig: { httpProtocolOptions: {} }, httpFilters: [...filters, codec] }) } });
const injector = (name: string, secret: string, extra: object = {}, header?: string) => ({
  name,
  typedConfig: typed('envoy.extensions.filters.http.credential_injector.v3.CredentialInjector', {
    credential: { name: 'envoy.http.injected_credentials.generic', typedConfig: typed('envoy.extensions.http.injected_credentials.generic.v3.Generic', { credential: { name: secret, sdsConfig: { ads: {} } }, ...(header ? { header } : {}) }) },
    ...extra,
  }),
});
const secret = (name: string, value: string) => ({ name, genericSecret: { secret: { inlineString: value } } });
const admission = (body: object) => ({ name: 'envoy.filters.http.admission_control', typedConfig: typed('envoy.extensions.filters.http.admission_control.v3.AdmissionControl', body) });

describe('credential_injector', () => {
  let backend: Backend, p: Running;
  before(async () => {
    backend = await startBackend();
    p = await startProxy({
      filters: [{ ...injector('envoy.filters.http.credential_injector/route', 'route-cred', {}, 'x-api-key'), disabled: true }],
      secrets: [secret('backend-cred', 'Bearer backend-token'), secret('route-cred', 'route-key')],
      clusters: [
        staticCluster('cred', [backend.port], withFilters([injector('ci', 'backend-cred')])),
        staticCluster('keep', [backend.port], withFilters([injector('ci-keep', 'backend-cred', {}, undefined)])),
        staticCluster('missing', [backend.port], withFilters([injector('ci-missing', 'nope')])),
        staticCluster('allow', [backend.port], withFilters([injector('ci-allow', 'nope', { allowRequestWithoutCredential: true })])),
        staticCluster('over', [backend.port], withFilters([injector('ci-over', 'backend-cred', { overwrite: true })])),
      ],
      routes: [
        { name: 'c', prefix: '/cred', cluster: 'cred' },
        { name: 'k', prefix: '/keep', cluster: 'keep' },
        { name: 'm', prefix: '/missing', cluster: 'missing' },
        { name: 'a', prefix: '/allow', cluster: 'allow' },
        { name: 'o', prefix: '/over', cluster: 'over' },
        { name: 'r', prefix: '/route', perFilter: { 'envoy.filters.http.credential_injector/route': { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: {} } } },
        { name: 'plain', prefix: '/' },
      ],
    }, backend);
  });
  after(async () => { await p.close(); backend.close(); });

  const seen = () => backend.seen[backend.seen.length - 1]!;

  test('a cluster upstream filter puts the secret into Authorization', async () => {
    assert.equal((await get(p.port, '/cred')).status, 200);
    assert.equal(seen().headers.authorization, 'Bearer backend-token');
  });

  test('a header the client sent is kept unless overwrite', async () => {
    await get(p.port, '/keep', { authorization: 'Basic mine' });
    assert.equal(seen().headers.authorization, 'Basic mine');
    await get(p.port, '/over', { authorization: 'Basic mine' });
    assert.equal(seen().headers.authorization, 'Bearer backend-token');
  });

  test('without the secret: 401, or passed on when allowed', async () => {
    const n = backend.seen.length;
    const r = await get(p.port, '/missing');
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Failed to inject credential.');
    assert.equal(backend.seen.length, n);
    assert.equal((await get(p.port, '/allow')).status, 200);
    assert.equal(seen().headers.authorization, undefined);
  });

  test('as an HTTP filter enabled per route, into the configured header', async () => {
    await get(p.port, '/route');
    assert.equal(seen().headers['x-api-key'], 'route-key');
    await get(p.port, '/plain');
    assert.equal(seen().headers['x-api-key'], undefined);
  });

  test('refused: a filter after the codec, an unknown credential type, an unknown upstream filter', async () => {
    const after = { filters: [], routes: [{ name: 'r', prefix: '/' }], clusters: [staticCluster('x', [1], { typedExtensionProtocolOptions: { [HPO]: typed(HPO, { explicitHttpConfig: { httpProtocolOptions: {} }, httpFilters: [codec, injector('ci', 's')] }) } })] };
    assert.match((await problemsOf(after)).join('\n'), /upstream codec must be the last/);
    const oauth = { filters: [], routes: [{ name: 'r', prefix: '/' }], clusters: [staticCluster('x', [1], withFilters([{ name: 'ci', typedConfig: typed('envoy.extensions.filters.http.credential_injector.v3.CredentialInjector', { credential: { name: 'o', typedConfig: typed('envoy.extensions.http.injected_credentials.oauth2.v3.OAuth2', {}) } }) }]))] };
    assert.match((await problemsOf(oauth)).join('\n'), /unsupported credential envoy\.extensions\.http\.injected_credentials\.oauth2/);
    const unknown = { filters: [], routes: [{ name: 'r', prefix: '/' }], clusters: [staticCluster('x', [1], withFilters([{ name: 'b', typedConfig: typed('envoy.extensions.filters.http.kill_request.v3.KillRequest', {}) }]))] };
    assert.match((await problemsOf(unknown)).join('\n'), /unsupported upstream HTTP filter envoy\.extensions\.filters\.http\.kill_request/);
  });
});

describe('admission_control', () => {
  let server: { port: number; close(): void }, p: Running;
  let failing = false;
  before(async () => {
    server = await listen(http.createServer((req, res) => { req.resume(); res.writeHead(failing ? 500 : 200); res.end(); }));
    p = await startProxy({
      filters: [],
      clusters: [staticCluster('guarded', [server.port], withFilters([admission({ enabled: { defaultValue: true }, samplingWindow: '10s', srThreshold: { defaultValue: { value: 90 } }, maxRejectionProbability: { defaultValue: { value: 90 } }, successCriteria: { httpCriteria: { httpSuccessStatus: [{ start: 200, end: 300 }] } } })]))],
      routes: [{ name: 'g', prefix: '/', cluster: 'guarded' }],
    }, { port: server.port, seen: [], close: () => server.close() });
  });
  after(async () => { await p.close(); server.close(); });

  test('no rejections while the backend succeeds; rejections (503) once it fails, bounded by the maximum', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await get(p.port, '/')).status, 200);
    failing = true;
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++) statuses.push((await get(p.port, '/')).status);
    const rejected = statuses.filter((s) => s === 503).length;
    const reached = statuses.filter((s) => s === 500).length;
    // The success rate falls from 100%: early failures reach the backend, then most are shed,
    // but never all (the rejection probability is capped at 90%).
    assert.ok(rejected > 20, `rejected ${rejected} of 80`);
    assert.ok(reached >= 3, `reached the backend ${reached} times`);
    assert.equal(statuses.slice(0, 2).join(), '500,500');
  });

  test('refused: no success criteria', async () => {
    const s = { filters: [], routes: [{ name: 'r', prefix: '/' }], clusters: [staticCluster('x', [1], withFilters([admission({ enabled: { defaultValue: true } })]))] };
    assert.match((await problemsOf(s)).join('\n'), /successCriteria: required/);
  });
});
