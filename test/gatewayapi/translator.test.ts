import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { translate } from '../../src/gatewayapi/translator.js';
import { defaultSettings } from '../../src/gatewayapi/settings.js';
import type { Gateway, HTTPRoute } from '../../src/api/gatewayapi/index.js';
import { emptyResources } from '../../src/resources/resources.js';
import { loadHarness } from '../../src/cli/golden/harness.js';
import { caseResources } from '../../src/cli/golden/gatewayapi.js';
import { corpusSkipReason, corpusSuiteDir } from '../support/corpus.js';

const settings = defaultSettings({ gatewayClassName: 'eg' });

function gateway(): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { namespace: 'infra', name: 'gw' },
    spec: { gatewayClassName: 'eg', listeners: [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }] },
  };
}

function route(name: string, backendRef: Record<string, unknown>, rules?: unknown): HTTPRoute {
  // Deliberately loose: some tests hand the translator routes the schema would reject.
  return <HTTPRoute>{
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace: 'apps', name },
    spec: {
      parentRefs: [{ name: 'gw', namespace: 'infra' }],
      rules: rules ?? [{ matches: [{ path: { type: 'PathPrefix', value: `/${name}` } }], backendRefs: [backendRef] }],
    },
  };
}

function bundle() {
  const r = emptyResources();
  r.gateways.push(gateway());
  r.namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'infra' } }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  r.services.push({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'apps', name: 'web' }, spec: { clusterIP: '10.0.0.1', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] } });
  r.endpointSlices.push({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'apps', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true } }],
  });
  return r;
}

const conditions = (o: HTTPRoute) => Object.fromEntries((o.status?.parents?.[0]?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

test('an invalid resource among hundreds leaves the others translated', () => {
  const r = bundle();
  for (let i = 0; i < 400; i++) r.httpRoutes.push(route(`r${i}`, { name: 'web', port: 8080 }));
  r.httpRoutes.splice(100, 0, route('bad-kind', { kind: 'ConfigMap', name: 'web', port: 8080 }));
  r.httpRoutes.splice(200, 0, route('malformed', {}, 'not-a-list-of-rules'));
  r.httpRoutes.splice(300, 0, route('bad-regex', { name: 'web', port: 8080 }, [{ matches: [{ path: { type: 'RegularExpression', value: '(' } }], backendRefs: [{ name: 'web', port: 8080 }] }]));
  const input = JSON.stringify(r);

  const out = translate(r, settings);
  assert.equal(JSON.stringify(r), input, 'the input bundle is left as it was');

  const routes = out.resources.httpRoutes ?? [];
  assert.equal(routes.length, 403);
  const byName = new Map(routes.map((o) => [o.metadata.name, o]));
  assert.deepEqual(conditions(byName.get('bad-kind')!), { Accepted: 'True/Accepted', ResolvedRefs: 'False/InvalidKind' });
  assert.equal(conditions(byName.get('malformed')!).Accepted, 'False/UnsupportedValue');
  assert.equal(conditions(byName.get('bad-regex')!).Accepted, 'False/UnsupportedValue');
  for (let i = 0; i < 400; i++) assert.deepEqual(conditions(byName.get(`r${i}`)!), { Accepted: 'True/Accepted', ResolvedRefs: 'True/ResolvedRefs' });

  const http = out.xdsIR['infra/gw']!.http![0];
  const names = new Set((http.routes ?? []).map((x) => x.name.split('/')[2]));
  for (let i = 0; i < 400; i++) assert.ok(names.has(`r${i}`), `route r${i} is in the IR`);
  const invalid = (http.routes ?? []).find((x) => x.name.startsWith('httproute/apps/bad-kind/'));
  assert.deepEqual(invalid?.directResponse, { statusCode: 500 }, 'the invalid backend answers 500');
  const listener = out.resources.gateways?.[0]?.status?.listeners?.[0];
  assert.equal(listener?.attachedRoutes, 402);
});

test('translating the largest corpus case takes well under a second', { skip: corpusSuiteDir('gatewayapi') ? false : corpusSkipReason }, () => {
  const dir = corpusSuiteDir('gatewayapi')!;
  const largest = readdirSync(dir)
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => ({ f, size: statSync(join(dir, f)).size }))
    .sort((a, b) => b.size - a.size)[0]!.f;
  const name = largest.slice(0, -'.in.yaml'.length);
  const { resources, settings: s } = caseResources(name, readFileSync(join(dir, largest), 'utf8'), loadHarness(dir), dir);
  translate(resources, s); // warm-up (module initialisation, JIT)
  const t0 = performance.now();
  translate(resources, s);
  const ms = performance.now() - t0;
  assert.ok(ms < 250, `${name} took ${ms.toFixed(1)} ms`);
});

test('a GatewayClass controller of the default name accepts the class EnvoyProxy', () => {
  const r = bundle();
  r.gatewayClass = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'eg' }, spec: { controllerName: settings.gatewayControllerName } };
  r.envoyProxyForGatewayClass = { apiVersion: 'gateway.envoyproxy.io/v1alpha1', kind: 'EnvoyProxy', metadata: { namespace: 'envoy-gateway-system', name: 'proxy' }, spec: { ipFamily: 'IPv6' } };
  const out = translate(r, settings);
  assert.equal(out.resources.gatewayClass?.status?.conditions?.[0]?.status, 'True');
  assert.equal(out.xdsIR['infra/gw']!.readyListener?.address, '::');
});
