// More traffic features end to end: manifests → `egts translate --to xds` → `egts proxy`, with
// echo backends. BackendTrafficPolicy bandwidthLimit (responses paced), responseOverride (a
// backend 404 and a local 503 replaced), admissionControl (a failing backend shed with 503),
// HTTPRoute sessionPersistence by cookie and by header (a client stays on its endpoint), and
// HTTPRouteFilter credentialInjection from a Secret, on a route and on a backendRef.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, startEcho, type Echo } from './support.js';

const PORT = 18097;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** One Service whose endpoints are the echo backends (one EndpointSlice each: their ports differ). */
function service(name: string, echoes: Echo[]): string {
  return `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  ports: [{name: http, port: 8080, protocol: TCP}]
---
${echoes.map((e, i) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-${i}, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: ${e.http}, protocol: TCP}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
`).join('')}`;
}

function manifests(a: Echo, b: Echo): string {
  const route = (name: string, prefix: string, extra = '', backend = 'pair') => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{name: ${backend}, port: 8080}]
${extra}
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
${service('pair', [a, b])}
${service('one', [a])}
${route('bw', '/bw', '', 'one')}
${route('override', '/override', '', 'one')}
${route('admission', '/admission', '', 'one')}
${route('cookie', '/cookie', `    sessionPersistence: {sessionName: sticky, type: Cookie, absoluteTimeout: 1h, cookieConfig: {lifetimeType: Permanent}}`)}
${route('header', '/header', `    sessionPersistence: {sessionName: x-session, type: Header}`)}
${route('balanced', '/balanced')}
${route('cred', '/cred', `    filters: [{type: ExtensionRef, extensionRef: {group: gateway.envoyproxy.io, kind: HTTPRouteFilter, name: cred}}]`, 'one')}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend-cred, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /backend-cred}}]
    backendRefs:
    - name: one
      port: 8080
      filters: [{type: ExtensionRef, extensionRef: {group: gateway.envoyproxy.io, kind: HTTPRouteFilter, name: backend-cred}}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: HTTPRouteFilter
metadata: {name: cred, namespace: default}
spec:
  credentialInjection:
    header: x-api-key
    credential: {valueRef: {name: route-key}}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: HTTPRouteFilter
metadata: {name: backend-cred, namespace: default}
spec:
  credentialInjection:
    overwrite: true
    credential: {valueRef: {name: backend-token}}
---
apiVersion: v1
kind: Secret
metadata: {name: route-key, namespace: default}
data: {credential: ${b64('key-for-the-route')}}
---
apiVersion: v1
kind: Secret
metadata: {name: backend-token, namespace: default}
data: {credential: ${b64('Bearer backend-token')}}
---
${btp('bw', 'bw', `  bandwidthLimit:
    response:
      limit: {value: 64Ki, unit: Second}
      responseTrailers: {prefix: x-eg}`)}
${btp('override', 'override', `  responseOverride:
  - match: {statusCodes: [{type: Value, value: 404}]}
    response:
      contentType: application/json
      body: {type: Inline, inline: '{"error": "not here"}'}
  - match: {statusCodes: [{type: Range, range: {start: 500, end: 599}}]}
    response:
      statusCode: 502
      body: {type: Inline, inline: 'upstream trouble'}`)}
${btp('admission', 'admission', `  admissionControl:
    samplingWindow: 10s
    minSuccessRate: 90
    maxRejectionPercent: 90
    successCriteria:
      http: {statusCodes: [200]}`)}
`;
}

describe('bandwidth, response overrides, admission control, session persistence and credentials through egts translate and egts proxy', () => {
  let a: Echo, b: Echo, gw: GatewayProxy, port: number;

  before(async () => {
    [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
    gw = await startGateway(manifests(a, b));
    port = gw.port(PORT);
  });

  after(async () => { await Promise.all([gw, a, b].map((p) => p?.close())); });

  test('bandwidthLimit paces responses at the route limit', async () => {
    const t0 = Date.now();
    const r = await request(port, { path: '/bw', headers: { 'x-echo-body-bytes': String(48 * 1024) } });
    assert.equal(r.status, 200);
    assert.equal(r.raw.length, 48 * 1024);
    // 48 KiB at 64 KiB/s in slices every 50 ms: about 0.7 s.
    assert.ok(Date.now() - t0 >= 600, `took ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await request(port, { path: '/override', headers: { 'x-echo-body-bytes': String(48 * 1024) } });
    assert.ok(Date.now() - t1 < 400, 'other routes are not limited');
  });

  test('responseOverride replaces matching responses, keeping or setting the status', async () => {
    const nf = await request(port, { path: '/override', headers: { 'x-echo-status': '404' } });
    assert.equal(nf.status, 404);
    assert.equal(nf.body, '{"error": "not here"}');
    assert.equal(nf.headers['content-type'], 'application/json');
    const err = await request(port, { path: '/override', headers: { 'x-echo-status': '503' } });
    assert.equal(err.status, 502);
    assert.equal(err.body, 'upstream trouble');
    const ok = await request(port, { path: '/override' });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().backend, 'a');
  });

  test('a session cookie keeps a client on one endpoint; routes without persistence balance', async () => {
    const first = await request(port, { path: '/cookie' });
    const setCookie = String(first.headers['set-cookie']);
    const m = /^sticky="([^"]+)"; Max-Age=3600; Path=\/cookie; HttpOnly$/.exec(setCookie);
    assert.ok(m, setCookie);
    const who = first.json().backend;
    for (let i = 0; i < 5; i++) assert.equal((await request(port, { path: '/cookie/x', headers: { cookie: `sticky="${m[1]}"` } })).json().backend, who);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await request(port, { path: '/balanced', headers: { cookie: `sticky="${m[1]}"` } })).json().backend);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  test('a session header keeps a client on one endpoint', async () => {
    const first = await request(port, { path: '/header' });
    const session = first.headers['x-session'] as string;
    assert.ok(session);
    for (let i = 0; i < 5; i++) assert.equal((await request(port, { path: '/header', headers: { 'x-session': session } })).json().backend, first.json().backend);
  });

  test('credentialInjection puts the Secret into the request, on a route and on a backendRef', async () => {
    const r = await request(port, { path: '/cred' });
    // The echo lists each header's values.
    assert.deepEqual(r.json().headers['x-api-key'], ['key-for-the-route']);
    const bk = await request(port, { path: '/backend-cred', headers: { authorization: 'Basic client' } });
    assert.deepEqual(bk.json().headers.authorization, ['Bearer backend-token']);
  });

  test('admissionControl sheds load (503) once the backend fails', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await request(port, { path: '/admission' })).status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await request(port, { path: '/admission', headers: { 'x-echo-status': '500' } })).status);
    const shed = statuses.filter((s) => s === 503).length;
    assert.ok(shed > 10, `shed ${shed} of 60: ${statuses.join(',')}`);
    assert.ok(statuses.includes(500));
  });
});
