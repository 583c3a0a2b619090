import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translate } from '../../src/gatewayapi/translator.js';
import { defaultSettings } from '../../src/gatewayapi/settings.js';
import { emptyResources, type Resources } from '../../src/resources/resources.js';

/** Two listeners of one protocol, a route on each to the same Service, mergeBackends on, a Gateway-wide policy. */
function bundle(protocol: 'UDP' | 'TCP'): Resources {
  const r = emptyResources();
  r.gatewayClass = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'eg' }, spec: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller', parametersRef: { group: 'gateway.envoyproxy.io', kind: 'EnvoyProxy', name: 'proxy', namespace: 'ns' } } };
  r.envoyProxyForGatewayClass = { apiVersion: 'gateway.envoyproxy.io/v1alpha1', kind: 'EnvoyProxy', metadata: { namespace: 'ns', name: 'proxy' }, spec: { mergeBackends: {} } };
  r.namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } });
  r.gateways.push({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { namespace: 'ns', name: 'gw' },
    spec: { gatewayClassName: 'eg', listeners: [{ name: 'a', protocol, port: 5000 }, { name: 'b', protocol, port: 5001 }] },
  });
  const ports = [{ name: 'p', port: 53, protocol: protocol === 'UDP' ? ('UDP' as const) : ('TCP' as const) }];
  r.services.push({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 'svc' }, spec: { clusterIP: '10.0.0.1', ports } });
  r.endpointSlices.push({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'ns', name: 'svc-1', labels: { 'kubernetes.io/service-name': 'svc' } }, addressType: 'IPv4', ports, endpoints: [{ addresses: ['10.1.0.1'] }] });
  for (const section of ['a', 'b']) {
    const route = { apiVersion: 'gateway.networking.k8s.io/v1alpha2', metadata: { namespace: 'ns', name: `r-${section}` }, spec: { parentRefs: [{ name: 'gw', sectionName: section }], rules: [{ backendRefs: [{ name: 'svc', port: 53 }] }] } };
    if (protocol === 'UDP') r.udpRoutes.push({ ...route, kind: 'UDPRoute' });
    else r.tcpRoutes.push({ ...route, kind: 'TCPRoute' });
  }
  r.backendTrafficPolicies.push({
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'BackendTrafficPolicy',
    metadata: { namespace: 'ns', name: 'gw-wide' },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }],
      loadBalancer: { type: 'Random' },
      circuitBreaker: { maxConnections: 10 },
      useClientProtocol: true,
    },
  });
  return r;
}

test('a shared UDP cluster takes only what a UDP route takes from a Gateway-wide policy', () => {
  const out = translate(bundle('UDP'), defaultSettings({ gatewayClassName: 'eg' }));
  const x = out.xdsIR['ns/gw']!;
  assert.equal(x.backendClusters?.length, 1);
  assert.deepEqual(x.backendClusters![0]!.traffic, { loadBalancer: { random: {} } });
  assert.equal(x.backendClusters![0]!.useClientProtocol, undefined);
  for (const l of x.udp ?? []) assert.ok(l.route?.destination?.backendClusterRefs?.length, `${l.name} uses the shared cluster`);
});

test('a shared TCP cluster takes the L4 cluster settings of a Gateway-wide policy', () => {
  const out = translate(bundle('TCP'), defaultSettings({ gatewayClassName: 'eg' }));
  const bc = out.xdsIR['ns/gw']!.backendClusters![0]!;
  assert.deepEqual(bc.traffic, { loadBalancer: { random: {} }, circuitBreaker: { maxConnections: 10 } });
  assert.equal(bc.useClientProtocol, undefined);
});
