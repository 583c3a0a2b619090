import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../support/corpus.js';

const manifests = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [www.example.com]
  rules: [{backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: Nope, value: /}}]}]
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

const egts = (args: string[], input: string) =>
  spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'translate', ...args], { input, encoding: 'utf8' });

test('egts translate reports invalid resources with their place and translates the rest', () => {
  const r = egts(['-f', '-', '-o', 'json'], manifests);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /<stdin>:\d+ \(document 3\) HTTPRoute default\/bad: spec\.rules\[0\]\.matches\[0\]\.path\.type/);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.httpRoutes.map((h: any) => h.metadata.name), ['good']);
  const conds = out.httpRoutes[0].status.parents[0].conditions.map((c: any) => `${c.type}=${c.status}`).sort();
  assert.deepEqual(conds, ['Accepted=True', 'ResolvedRefs=True']);
  const route = out.xdsIR['default/gw'].http[0].routes[0];
  // The rule has no matches; admission gives it the CRD's default one (PathPrefix /), match 0.
  assert.equal(route.name, 'httproute/default/good/rule/0/match/0/www_example_com');
  assert.deepEqual(route.destination.settings[0].endpoints, [{ host: '10.1.0.7', port: 8080 }]);
  assert.equal(out.infraIR['default/gw'].proxy.listeners[0].ports[0].containerPort, 10080);
});

test('egts translate --to ir prints only the IR, as YAML by default', () => {
  const r = egts(['-f', '-', '--to', 'ir'], manifests.split('---').filter((d) => !d.includes('name: bad')).join('---'));
  assert.equal(r.status, 0, r.stderr);
  const out = parse(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ['infraIR', 'xdsIR']);
});

test('egts translate rejects unknown options with the usage', () => {
  const r = egts(['--frobnicate'], '');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: egts translate/);
});
