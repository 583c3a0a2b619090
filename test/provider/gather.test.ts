import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatherResources } from '../../src/provider/gather.js';
import type { AnyObject } from '../../src/provider/object.js';

const gw = 'gateway.networking.k8s.io/v1';
const o = (kind: string, name: string, namespace: string | undefined, spec: object, apiVersion = gw, extra: object = {}): AnyObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}), creationTimestamp: '2026-01-01T00:00:00Z', ...extra },
  spec,
});

const objects: AnyObject[] = [
  o('GatewayClass', 'eg', undefined, { controllerName: 'ours', parametersRef: { group: 'gateway.envoyproxy.io', kind: 'EnvoyProxy', name: 'class-proxy', namespace: 'infra' } }),
  o('GatewayClass', 'foreign', undefined, { controllerName: 'someone-else' }),
  o('EnvoyProxy', 'class-proxy', 'infra', {}, 'gateway.envoyproxy.io/v1alpha1'),
  o('EnvoyProxy', 'gw-proxy', 'apps', {}, 'gateway.envoyproxy.io/v1alpha1'),
  o('EnvoyProxy', 'unused', 'apps', {}, 'gateway.envoyproxy.io/v1alpha1'),
  o('Gateway', 'mine', 'apps', { gatewayClassName: 'eg', infrastructure: { parametersRef: { group: 'gateway.envoyproxy.io', kind: 'EnvoyProxy', name: 'gw-proxy' } } }),
  o('Gateway', 'theirs', 'apps', { gatewayClassName: 'foreign' }),
  o('XListenerSet', 'extra', 'team', { parentRef: { name: 'mine', namespace: 'apps' } }, 'gateway.networking.x-k8s.io/v1alpha1'),
  o('HTTPRoute', 'to-mine', 'apps', { parentRefs: [{ name: 'mine' }] }),
  o('HTTPRoute', 'to-theirs', 'apps', { parentRefs: [{ name: 'theirs' }] }),
  o('HTTPRoute', 'cross-ns', 'team', { parentRefs: [{ name: 'mine', namespace: 'apps' }] }),
  o('HTTPRoute', 'via-set', 'team', { parentRefs: [{ kind: 'XListenerSet', group: 'gateway.networking.x-k8s.io', name: 'extra' }] }),
  o('TCPRoute', 'tcp', 'apps', { parentRefs: [{ name: 'mine', sectionName: 'tcp' }] }, 'gateway.networking.k8s.io/v1alpha2'),
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'apps' }, spec: {} },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', labels: { tier: 'a' } } },
];

test('one bundle per GatewayClass of our controller, with what it needs', () => {
  const classes = gatherResources(objects, 'ours');
  assert.deepEqual(classes.map((c) => c.name), ['eg']);
  const r = classes[0]!.resources;
  assert.equal(r.gatewayClass?.metadata.name, 'eg');
  assert.equal(r.envoyProxyForGatewayClass?.metadata.name, 'class-proxy');
  assert.deepEqual(r.envoyProxiesForGateways.map((e) => e.metadata.name), ['gw-proxy']);
  assert.deepEqual(r.gateways.map((g) => g.metadata.name), ['mine']);
  assert.deepEqual(r.listenerSets.map((g) => g.metadata.name), ['extra']);
  assert.deepEqual(r.httpRoutes.map((x) => `${x.metadata.namespace}/${x.metadata.name}`), ['apps/to-mine', 'team/cross-ns', 'team/via-set']);
  assert.deepEqual(r.tcpRoutes.map((x) => x.metadata.name), ['tcp']);
  assert.deepEqual(r.services.map((x) => x.metadata.name), ['svc']);
});

test('namespaces: declared ones get the name label, used ones are implied', () => {
  const r = gatherResources(objects, 'ours')[0]!.resources;
  const byName = new Map(r.namespaces.map((n) => [n.metadata.name, n]));
  assert.deepEqual([...byName.keys()].sort(), ['apps', 'infra', 'team']);
  assert.deepEqual(byName.get('team')!.metadata.labels, { tier: 'a', 'kubernetes.io/metadata.name': 'team' });
  assert.deepEqual(byName.get('apps')!.metadata.labels, { 'kubernetes.io/metadata.name': 'apps' });
});

test('no GatewayClass of ours, no bundle', () => {
  assert.deepEqual(gatherResources(objects, 'nobody'), []);
});
