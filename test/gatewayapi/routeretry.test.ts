// HTTPRoute rule retries (GEP-1731): the rule's retry becomes the IR route's own retry policy and
// wins over a BackendTrafficPolicy's retry on the same route; other rules keep the policy's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { routeRetry } from '../../src/gatewayapi/routeretry.js';
import { repoRoot } from '../support/corpus.js';

describe('routeRetry', () => {
  it('attempts, codes and backoff become numRetries, retryOn.httpStatusCodes and the base back-off', () => {
    assert.deepEqual(routeRetry({ retry: { attempts: 3, codes: [500, 503], backoff: '100ms' } }), {
      numRetries: 3,
      perRetry: { backOff: { baseInterval: '100ms' } },
      retryOn: { httpStatusCodes: [500, 503] },
    });
    assert.deepEqual(routeRetry({ retry: { backoff: '1m30s' } }), { perRetry: { backOff: { baseInterval: '1m30s' } } });
  });

  it('with retries, the backend request timeout bounds each try', () => {
    assert.deepEqual(routeRetry({ retry: { attempts: 2 }, timeouts: { request: '10s', backendRequest: '2s' } }), {
      numRetries: 2,
      perRetry: { timeout: '2s' },
    });
    assert.deepEqual(routeRetry({ retry: { backoff: '10ms' }, timeouts: { backendRequest: '500ms' } }), {
      perRetry: { backOff: { baseInterval: '10ms' }, timeout: '500ms' },
    });
  });

  it('an empty retry asks for the defaults; no retry asks for nothing', () => {
    assert.deepEqual(routeRetry({ retry: {} }), {});
    assert.equal(routeRetry({ timeouts: { backendRequest: '1s' } }), undefined);
  });
});

const manifests = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /own}}]
    retry: {attempts: 1, codes: [502], backoff: 50ms}
    backendRefs: [{name: web, port: 8080}]
  - matches: [{path: {value: /policy}}]
    backendRefs: [{name: web, port: 8080}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: retries, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]
  retry:
    numRetries: 5
    retryOn: {triggers: [5xx, reset]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.0.0.5, ports: [{name: http, port: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.1.0.7], conditions: {ready: true}}]
`;

function translate(...args: string[]): any {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'translate', '-f', '-', '-o', 'json', ...args], { input: manifests, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('HTTPRoute retry beside a BackendTrafficPolicy retry', () => {
  it('the IR route carries the rule retry; the policy retry stays in its traffic features', () => {
    const routes = translate().xdsIR['default/gw'].http[0].routes;
    const own = routes.find((r: any) => r.name.includes('/rule/0/'));
    const policy = routes.find((r: any) => r.name.includes('/rule/1/'));
    assert.deepEqual(own.retry, { numRetries: 1, perRetry: { backOff: { baseInterval: '50ms' } }, retryOn: { httpStatusCodes: [502] } });
    assert.equal(own.traffic.retry.numRetries, 5);
    assert.equal(policy.retry, undefined);
    assert.equal(policy.traffic.retry.numRetries, 5);
  });

  it("Envoy's retry policy follows the rule's retry where there is one, the policy's elsewhere", () => {
    const dump = translate('--to', 'xds', '-t', 'route').xds['default/gw'];
    const routes = dump.configs[0].dynamicRouteConfigs[0].routeConfig.virtualHosts[0].routes;
    const policyOf = (path: string) => routes.find((r: any) => r.match.pathSeparatedPrefix === path).route.retryPolicy;
    const own = policyOf('/own');
    assert.equal(own.numRetries, 1);
    assert.deepEqual(own.retriableStatusCodes, [502]);
    // No triggers given: Envoy Gateway's default conditions, which include the status codes.
    assert.equal(own.retryOn, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
    assert.deepEqual(own.retryBackOff, { baseInterval: '0.050s' });
    const policy = policyOf('/policy');
    assert.equal(policy.numRetries, 5);
    assert.equal(policy.retryOn, '5xx,reset');
  });
});
