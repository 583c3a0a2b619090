// Admission returns objects as the API server stores them: the CRDs' structural defaults filled
// in where a field is absent (nested defaults of a default too), null fields pruned, everything
// else as written, metadata untouched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateObject } from '../../src/api/validate.js';
import { gatewayAPI } from './support.js';

function admit(obj: unknown): any {
  const v = validateObject(obj);
  assert.ok(v.ok, v.ok ? '' : v.problems.map((p) => `${p.place.field}: ${p.message}`).join('\n'));
  return v.value;
}
const meta = { name: 'r', namespace: 'default' };
const route = (spec: any) => ({ apiVersion: gatewayAPI, kind: 'HTTPRoute', metadata: meta, spec });
const slash = { path: { type: 'PathPrefix', value: '/' } };

describe('HTTPRoute defaults', () => {
  it('a route without rules gets one rule matching every path', () => {
    assert.deepEqual(admit(route({ parentRefs: [{ name: 'gw' }] })).spec.rules, [{ matches: [slash] }]);
  });

  it('a rule without matches matches every path; a match without path matches /', () => {
    const r = admit(route({ rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }, { matches: [{ headers: [{ name: 'x', value: 'y' }] }] }] }));
    assert.deepEqual(r.spec.rules[0].matches, [slash]);
    assert.deepEqual(r.spec.rules[1].matches, [{ headers: [{ name: 'x', value: 'y', type: 'Exact' }], ...slash }]);
  });

  it('path match type PathPrefix and value /; header and query parameter matches Exact', () => {
    const r = admit(route({ rules: [{ matches: [{ path: { value: '/foo' }, queryParams: [{ name: 'q', value: 'v' }] }, { path: { type: 'Exact' } }] }] }));
    assert.deepEqual(r.spec.rules[0].matches, [
      { path: { value: '/foo', type: 'PathPrefix' }, queryParams: [{ name: 'q', value: 'v', type: 'Exact' }] },
      { path: { type: 'Exact', value: '/' } },
    ]);
  });

  it('RequestRedirect statusCode 302, CORS maxAge 5', () => {
    const r = admit(route({ rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }, { type: 'CORS', cors: { allowOrigins: ['*'] } }] }] }));
    assert.deepEqual(r.spec.rules[0].filters[0].requestRedirect, { scheme: 'https', statusCode: 302 });
    assert.equal(r.spec.rules[0].filters[1].cors.maxAge, 5);
  });

  it('parentRefs default to a Gateway; backendRefs to a core Service with weight 1', () => {
    const r = admit(route({ parentRefs: [{ name: 'gw', sectionName: 'http' }], rules: [{ backendRefs: [{ name: 'svc', port: 80 }, { name: 'b', kind: 'Backend', group: 'gateway.envoyproxy.io', weight: 0 }] }] }));
    assert.deepEqual(r.spec.parentRefs, [{ name: 'gw', sectionName: 'http', group: gatewayAPI.split('/')[0], kind: 'Gateway' }]);
    assert.deepEqual(r.spec.rules[0].backendRefs, [
      { name: 'svc', port: 80, group: '', kind: 'Service', weight: 1 },
      { name: 'b', kind: 'Backend', group: 'gateway.envoyproxy.io', weight: 0 },
    ]);
  });

  it('retry and timeouts have no defaults', () => {
    const r = admit(route({ rules: [{ retry: { codes: [503] }, timeouts: { request: '1s' } }] }));
    assert.deepEqual(r.spec.rules[0].retry, { codes: [503] });
    assert.deepEqual(r.spec.rules[0].timeouts, { request: '1s' });
  });
});

describe('Gateway, GRPCRoute and ListenerSet defaults', () => {
  const gateway = (spec: Record<string, unknown>) => ({ apiVersion: gatewayAPI, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'eg', ...spec } });

  it('listeners allow routes from their own namespace; TLS terminates; addresses are IPs', () => {
    const g = admit(
      gateway({
        listeners: [
          { name: 'http', port: 80, protocol: 'HTTP' },
          { name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] }, allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }] } },
          { name: 'all', port: 8080, protocol: 'HTTP', allowedRoutes: { namespaces: { selector: { matchLabels: { a: 'b' } } } } },
        ],
        addresses: [{ value: '10.0.0.1' }],
      }),
    );
    const [http, https, all] = g.spec.listeners;
    assert.deepEqual(http.allowedRoutes, { namespaces: { from: 'Same' } });
    assert.deepEqual(https.tls, { certificateRefs: [{ name: 'cert', group: '', kind: 'Secret' }], mode: 'Terminate' });
    assert.deepEqual(https.allowedRoutes, { kinds: [{ kind: 'HTTPRoute', group: 'gateway.networking.k8s.io' }], namespaces: { from: 'Same' } });
    assert.deepEqual(all.allowedRoutes, { namespaces: { selector: { matchLabels: { a: 'b' } }, from: 'Same' } });
    assert.deepEqual(g.spec.addresses, [{ value: '10.0.0.1', type: 'IPAddress' }]);
  });

  it('allowedListeners, when given, admits no ListenerSets unless it says so', () => {
    const g = admit(gateway({ listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], allowedListeners: {} }));
    assert.deepEqual(g.spec.allowedListeners, { namespaces: { from: 'None' } });
    assert.equal(admit(gateway({ listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] })).spec.allowedListeners, undefined);
  });

  it('GRPCRoute method and header matches are Exact; rules get no default matches', () => {
    const r = admit({
      apiVersion: gatewayAPI,
      kind: 'GRPCRoute',
      metadata: meta,
      spec: { rules: [{ matches: [{ method: { service: 'pkg.Svc' }, headers: [{ name: 'h', value: 'v' }] }] }, { backendRefs: [{ name: 'svc', port: 9000 }] }] },
    });
    assert.deepEqual(r.spec.rules[0].matches, [{ method: { service: 'pkg.Svc', type: 'Exact' }, headers: [{ name: 'h', value: 'v', type: 'Exact' }] }]);
    assert.deepEqual(r.spec.rules[1], { backendRefs: [{ name: 'svc', port: 9000, group: '', kind: 'Service', weight: 1 }] });
  });

  it('a ListenerSet refers to a Gateway by default', () => {
    const ls = admit({
      apiVersion: 'gateway.networking.x-k8s.io/v1alpha1',
      kind: 'XListenerSet',
      metadata: meta,
      spec: { parentRef: { name: 'gw' }, listeners: [{ name: 'x', port: 81, protocol: 'HTTP' }] },
    });
    assert.deepEqual(ls.spec.parentRef, { name: 'gw', group: 'gateway.networking.k8s.io', kind: 'Gateway' });
    assert.deepEqual(ls.spec.listeners[0].allowedRoutes, { namespaces: { from: 'Same' } });
  });
});

describe('Envoy Gateway kinds', () => {
  it('a BackendTrafficPolicy retry retries twice by default', () => {
    const p = admit({
      apiVersion: 'gateway.envoyproxy.io/v1alpha1',
      kind: 'BackendTrafficPolicy',
      metadata: meta,
      spec: { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'r' }], retry: { retryOn: { triggers: ['5xx'] } } },
    });
    assert.equal(p.spec.retry.numRetries, 2);
    assert.deepEqual(p.spec.targetRefs, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'r' }]);
  });

  const btp = (spec: Record<string, unknown>) => ({
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'BackendTrafficPolicy',
    metadata: meta,
    spec: { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'r' }], ...spec },
  });

  it('health checks and circuit breakers get their CRD defaults', () => {
    const p = admit(btp({ healthCheck: { active: { type: 'TCP', tcp: {}, interval: '5s' }, passive: {} }, circuitBreaker: { perEndpoint: {} } }));
    assert.deepEqual(p.spec.healthCheck.active, { type: 'TCP', tcp: {}, interval: '5s', timeout: '1s', unhealthyThreshold: 3, healthyThreshold: 1 });
    assert.deepEqual(p.spec.healthCheck.passive, {
      splitExternalLocalOriginErrors: false,
      interval: '3s',
      consecutiveLocalOriginFailures: 5,
      consecutiveGatewayErrors: 0,
      consecutive5XxErrors: 5,
      baseEjectionTime: '30s',
      maxEjectionPercent: 10,
    });
    assert.deepEqual(p.spec.circuitBreaker, { perEndpoint: { maxConnections: 1024 }, maxConnections: 1024, maxPendingRequests: 1024, maxParallelRequests: 1024, maxParallelRetries: 1024 });
  });

  it('a bandwidth limit has no default unit: it must be given', () => {
    assert.equal(validateObject(btp({ bandwidthLimit: { request: { limit: { value: '10Mi' } } } })).ok, false);
    assert.equal(admit(btp({ bandwidthLimit: { request: { limit: { value: '10Mi', unit: 'Minute' } } } })).spec.bandwidthLimit.request.limit.unit, 'Minute');
  });

  it('rate limit matches: headers Exact, paths PathPrefix /, not inverted', () => {
    const p = admit(btp({ rateLimit: { type: 'Local', local: { rules: [{ clientSelectors: [{ headers: [{ name: 'x', value: 'y' }], path: {} }], limit: { requests: 1, unit: 'Second' } }] } } }));
    assert.deepEqual(p.spec.rateLimit.local.rules[0].clientSelectors[0], {
      headers: [{ name: 'x', value: 'y', type: 'Exact', invert: false }],
      path: { type: 'PathPrefix', value: '/', invert: false },
    });
  });

  it('an EnvoyProxy logs at warn level by default', () => {
    const p = admit({ apiVersion: 'gateway.envoyproxy.io/v1alpha1', kind: 'EnvoyProxy', metadata: meta, spec: {} });
    assert.deepEqual(p.spec.logging, { level: { default: 'warn' } });
  });
});

describe('what admission leaves alone', () => {
  it('an object that needs no default comes back as itself', () => {
    const obj = route({ parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }], rules: [{ matches: [slash] }] });
    assert.equal(admit(obj), obj);
  });

  it('written fields keep their values and order; the input is not modified', () => {
    const obj = route({ rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { port: 8443, scheme: 'https' } }], matches: [{ path: { value: '/a', type: 'Exact' } }] }] });
    const before = JSON.stringify(obj);
    const r = admit(obj);
    assert.equal(JSON.stringify(obj), before);
    assert.deepEqual(Object.keys(r.spec.rules[0]), ['filters', 'matches']);
    assert.deepEqual(Object.keys(r.spec.rules[0].filters[0].requestRedirect), ['port', 'scheme', 'statusCode']);
    assert.equal(r.spec.rules[0].matches, obj.spec.rules[0].matches, 'unchanged parts are shared, not copied');
  });

  it('metadata is untouched (nulls included); null fields elsewhere are pruned', () => {
    const metadata = { name: 'r', namespace: 'default', creationTimestamp: null, labels: { a: 'b' } };
    const r = admit({ ...route({ hostnames: null, rules: [{ matches: [slash], filters: null }] }), metadata });
    assert.equal(r.metadata, metadata);
    assert.equal('hostnames' in r.spec, false);
    assert.deepEqual(r.spec.rules, [{ matches: [slash] }]);
  });

  it('no two admitted objects share a default', () => {
    const a = admit(route({}));
    const b = admit(route({}));
    assert.notEqual(a.spec.rules, b.spec.rules);
    assert.notEqual(a.spec.rules[0].matches[0].path, b.spec.rules[0].matches[0].path);
    a.spec.rules[0].matches[0].path.value = '/changed';
    assert.equal(admit(route({})).spec.rules[0].matches[0].path.value, '/');
  });

  it('unknown fields are still reported, not dropped', () => {
    const v = validateObject(route({ rules: [{ matchs: [] }] }));
    assert.equal(v.ok, false);
  });
});
