// `egts translate --to xds`: Envoy's configuration for manifests, as a config dump per IR key
// (or one section of it), and a bootstrap that points Envoy at egts's xDS server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { checkResource } from '../../src/xds/proto/index.js';
import { repoRoot } from '../support/corpus.js';

const manifests = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: eg, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: backend, namespace: default}
spec:
  parentRefs: [{name: eg}]
  hostnames: [www.example.com]
  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: backend, port: 3000}]}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata: {name: backend, namespace: default}
spec:
  endpoints: [{ip: {address: 10.0.0.5, port: 3000}}]
`;

function translate(...args: string[]): { status: number | null; out: any; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'translate', '-f', '-', '-o', 'json', ...args], {
    input: manifests,
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
}

test('--to xds prints a valid config dump per IR key', () => {
  const { status, out, stderr } = translate('--to', 'xds');
  assert.equal(status, 0, stderr);
  const dump = out.xds['default/eg'];
  assert.deepEqual(checkResource('envoy.admin.v3.ConfigDump', dump).problems, []);
  const types = dump.configs.map((c: any) => c['@type'].split('.').pop());
  assert.deepEqual(types, ['ListenersConfigDump', 'RoutesConfigDump', 'ClustersConfigDump', 'EndpointsConfigDump', 'SecretsConfigDump']);
  const listener = dump.configs[0].dynamicListeners.map((l: any) => l.activeState.listener).find((l: any) => l.name === 'default/eg/http');
  assert.equal(listener.name, 'default/eg/http');
  assert.equal(listener.address.socketAddress.portValue, 10080);
  const endpoints = dump.configs[3].dynamicEndpointConfigs[0].endpointConfig;
  assert.equal(endpoints.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.address, '10.0.0.5');
});

test('-t selects one resource type', () => {
  const { out } = translate('--to', 'xds', '-t', 'cluster');
  const dump = out.xds['default/eg'];
  assert.equal(dump.configs.length, 1);
  assert.equal(dump.configs[0].dynamicActiveClusters[0].cluster.name, 'httproute/default/backend/rule/0');
});

test('-t bootstrap points Envoy at the xDS server, with the IR key as node cluster', () => {
  const { out } = translate('--to', 'xds', '-t', 'bootstrap', '--xds-address', 'egts.example:18001');
  const b = out.xds['default/eg'];
  assert.deepEqual(checkResource('envoy.config.bootstrap.v3.Bootstrap', b).problems, []);
  assert.equal(b.node.cluster, 'default/eg');
  const addr = b.staticResources.clusters[0].loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress;
  assert.deepEqual(addr, { address: 'egts.example', portValue: 18001 });
  assert.equal(b.staticResources.clusters[0].type, 'STRICT_DNS');
});
