// Manifests that leave fields to the CRDs' defaults behave as they do with an API server:
// `egts translate` admits them with the defaults filled in, and `egts proxy` serves the result.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, startEcho, type Echo } from './support.js';

const HTTP = 18090;

const manifests = (v1: Echo) => `${gatewayClass}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: ${HTTP}}]
---
${backend('v1', v1)}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirect, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [redirect.example.com]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {hostname: other.example.com}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: everything, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [any.example.com]
  rules:
  - backendRefs: [{name: v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: untyped, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [untyped.example.com]
  rules:
  - matches: [{path: {value: /prefix}, headers: [{name: x-flavour, value: plain}]}]
    backendRefs: [{name: v1, port: 8080}]
`;

describe('admission defaults through egts translate + egts proxy', () => {
  let v1: Echo, gw: GatewayProxy;
  before(async () => {
    v1 = await startEcho('v1');
    gw = await startGateway(manifests(v1));
  });
  after(async () => { await Promise.all([gw, v1].map((p) => p?.close())); });
  const get = (host: string, path: string, headers: Record<string, string> = {}) => request(gw.port(HTTP), { host, path, headers });

  test('a RequestRedirect without statusCode answers 302', async () => {
    const r = await get('redirect.example.com', '/some/path');
    assert.equal(r.status, 302);
    // No scheme given: the redirect keeps the Gateway listener's port.
    assert.equal(r.headers.location, `http://other.example.com:${HTTP}/some/path`);
  });

  test('a rule without matches routes every path', async () => {
    for (const path of ['/', '/anything', '/deep/er?q=1']) {
      const r = await get('any.example.com', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.json().backend, 'v1');
    }
  });

  test('a path match without type is a prefix match; a header match without type is exact', async () => {
    assert.equal((await get('untyped.example.com', '/prefix/sub', { 'x-flavour': 'plain' })).status, 200);
    assert.equal((await get('untyped.example.com', '/prefix', { 'x-flavour': 'plain' })).status, 200);
    assert.equal((await get('untyped.example.com', '/prefixed', { 'x-flavour': 'plain' })).status, 404);
    assert.equal((await get('untyped.example.com', '/prefix', { 'x-flavour': 'plainer' })).status, 404);
  });
});
