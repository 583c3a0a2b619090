// EnvoyExtensionPolicy Lua end to end: manifests → `egts translate --to xds` (the script checked,
// one disabled Lua filter per policy, enabled per route with its filter context) → `egts proxy`
// (worker processes), with an echo backend.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, startEcho, type Echo } from './support.js';

const PORT = 18125;

const script = `
function envoy_on_request(handle)
  local mode = handle:filterContext().mode or "none"
  handle:headers():add("x-lua-mode", mode)
  if handle:headers():get("x-api-key") == "bad" then
    handle:respond({[":status"] = "401", ["x-lua"] = "denied"}, "bad key")
  end
end
function envoy_on_response(handle)
  handle:headers():add("x-lua-response", handle:headers():get(":status"))
end`;

const indent = (s: string, n: number) => s.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

describe('EnvoyExtensionPolicy Lua through egts translate and egts proxy', () => {
  let echo: Echo;
  let gw: GatewayProxy;

  before(async () => {
    echo = await startEcho('b1');
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
    gw = await startGateway(`${gatewayClass}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, port: ${PORT}, protocol: HTTP}]
---
${backend('echo', echo)}
${route('lua', '/lua')}
${route('plain', '/plain')}
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata: {name: lua, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: lua}]
  lua:
  - type: Inline
    filterContext: {mode: strict}
    inline: |
${indent(script.trim(), 6)}
`, 'default/gw');
  });
  after(async () => { await Promise.all([gw, echo].map((p) => p?.close())); });

  test('the script edits the request and the response, with the policy\'s filter context', async () => {
    const res = await request(gw.port(PORT), { path: '/lua/x' });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-lua-mode']?.[0], 'strict');
    assert.equal(res.headers['x-lua-response'], '200');
  });

  test('the script answers itself', async () => {
    const res = await request(gw.port(PORT), { path: '/lua/x', headers: { 'x-api-key': 'bad' } });
    assert.equal(res.status, 401);
    assert.equal(res.body, 'bad key');
    assert.equal(res.headers['x-lua'], 'denied');
    assert.equal(res.headers['x-lua-response'], '401');
  });

  test('routes without the policy do not run the script', async () => {
    const res = await request(gw.port(PORT), { path: '/plain' });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-lua-mode'], undefined);
    assert.equal(res.headers['x-lua-response'], undefined);
  });
});
