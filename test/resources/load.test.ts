// Loading YAML: multi-document streams, `kind: List`, the corpus's keyed lists; places of
// objects and problems (file, document, line); one bad object or document never spoils others.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem } from '../../src/api/place.js';
import { validateObject } from '../../src/api/validate.js';
import { httpRoutesYAML } from '../../bench/load.js';
import { loadKeyedLists, loadKubernetesYAML, loadResources } from '../../src/resources/load.js';

const routeDoc = (i: number, pathValue = `/p${i}`) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-${i}
  namespace: default
spec:
  parentRefs:
  - name: gw
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: ${pathValue}
    backendRefs:
    - name: svc
      port: 8080
`;

describe('Kubernetes YAML', () => {
  it('one invalid resource among hundreds is rejected alone, named by file, document, line, resource and field', () => {
    const docs = Array.from({ length: 300 }, (_, i) => routeDoc(i, i === 123 ? 'no-slash' : `/p${i}`));
    const text = `# routes\n---\n${docs.join('---\n')}`;
    const loaded = loadKubernetesYAML(text, 'routes.yaml');
    assert.deepEqual(loaded.problems, []);
    assert.equal(loaded.objects.length, 300);
    const rejected = loaded.objects.map((o) => validateObject(o.object, o.place, o.locate)).filter((v) => !v.ok);
    assert.equal(rejected.length, 1);
    const [problem] = (rejected[0] as { problems: import('../../src/api/place.js').Problem[] }).problems;
    // Document 124 starts at line 3 + 123 * 17; the path value is 12 lines further down.
    const line = 3 + 123 * 17 + 12;
    assert.equal(
      formatProblem(problem!),
      `routes.yaml:${line} (document 124) HTTPRoute default/route-123: spec.rules[0].matches[0].path.value: must be an absolute path starting with '/' when type is PathPrefix`,
    );
    assert.equal(text.split('\n')[line - 1], '        value: no-slash');
  });

  it('reports unknown fields at the line of the key', () => {
    const text = routeDoc(1).replace('  parentRefs:', '  parentRefz:');
    const [o] = loadKubernetesYAML(text, 'f.yaml').objects;
    const v = validateObject(o!.object, o!.place, o!.locate);
    assert.equal(v.ok, false);
    if (!v.ok) assert.equal(formatProblem(v.problems[0]!), 'f.yaml:7 (document 1) HTTPRoute default/route-1: spec.parentRefz: unknown field');
  });

  it('expands kind: List items, each with its own line', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: gateway.networking.k8s.io/v1
  kind: GatewayClass
  metadata: {name: a}
  spec: {controllerName: example.com/c}
- apiVersion: gateway.networking.k8s.io/v1
  kind: GatewayClass
  metadata: {name: b}
  spec: {controllerName: bad}
`;
    const { objects, problems } = loadKubernetesYAML(text, 'list.yaml');
    assert.deepEqual(problems, []);
    assert.deepEqual(objects.map((o) => [o.place.resource, o.place.line]), [['GatewayClass a', 4], ['GatewayClass b', 8]]);
    const v = validateObject(objects[1]!.object, objects[1]!.place, objects[1]!.locate);
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(formatProblem(v.problems[0]!), /^list\.yaml:11 \(document 1\) GatewayClass b: spec\.controllerName: /);
  });

  it('names the file and line of malformed YAML, and still loads the other documents', () => {
    const text = `${routeDoc(1)}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: [oops\n---\n${routeDoc(2)}`;
    const { objects, problems } = loadKubernetesYAML(text, 'bad.yaml');
    assert.deepEqual(objects.map((o) => o.place.resource), ['HTTPRoute default/route-1', 'HTTPRoute default/route-2']);
    assert.deepEqual(objects.map((o) => o.place.document), [0, 2]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.place.file, 'bad.yaml');
    assert.equal(problems[0]!.place.document, 1);
    assert.ok(problems[0]!.place.line! >= 21 && problems[0]!.place.line! <= 23, `line ${problems[0]!.place.line}`);
    assert.match(formatProblem(problems[0]!), /^bad\.yaml:\d+ \(document 2\): malformed YAML: /);
  });

  it('reports duplicate keys as malformed', () => {
    const { problems } = loadKubernetesYAML('apiVersion: v1\nkind: Secret\nkind: ConfigMap\n', 'dup.yaml');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.place.line, 3);
  });

  it('skips empty and comment-only documents, and rejects non-mappings', () => {
    const { objects, problems } = loadKubernetesYAML('---\n# nothing\n---\n---\n- a\n- b\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n', 'x.yaml');
    assert.equal(objects.length, 1);
    assert.equal(objects[0]!.place.document, 1);
    assert.equal(objects[0]!.place.line, 8);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.place.line, 5);
  });

  it('keeps timestamps as strings and reads under-indented quoted scalars as Kubernetes does', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  creationTimestamp: 2024-01-01T00:00:00Z\ndata:\n  script: "line one\n  line two"\n';
    const [o] = loadKubernetesYAML(text).objects;
    const obj = o!.object as { metadata: { creationTimestamp: unknown }; data: { script: string } };
    assert.equal(obj.metadata.creationTimestamp, '2024-01-01T00:00:00Z');
    assert.equal(obj.data.script, 'line one line two');
  });
});

describe('keyed lists (corpus format)', () => {
  const text = `gatewayClass:
  apiVersion: gateway.networking.k8s.io/v1
  kind: GatewayClass
  metadata:
    name: eg
  spec:
    controllerName: gateway.envoyproxy.io/gatewayclass-controller
HTTPROUTES:
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata:
    name: a
    namespace: default
  spec: {}
envoyextensionpolicies:
envoyProxyDefaultSpec:
  mergeGateways: true
gadgets:
- 1
`;
  it('matches keys case-insensitively and returns each object with its canonical key and line', () => {
    const { objects, problems } = loadKeyedLists(text, 'case.in.yaml');
    assert.deepEqual(
      objects.map((o) => [o.key, o.place.resource, o.place.line]),
      [
        ['gatewayClass', 'GatewayClass eg', 1],
        ['httpRoutes', 'HTTPRoute default/a', 9],
        ['envoyProxyDefaultSpec', undefined, 16],
      ],
    );
    assert.equal(problems.length, 1);
    assert.equal(formatProblem(problems[0]!), 'case.in.yaml:18 (document 1): unknown resource list "gadgets"');
  });
  it('locates fields inside keyed objects', () => {
    const { objects } = loadKeyedLists(text.replace('spec: {}', 'spec: {hostnames: [Bad]}'), 'case.in.yaml');
    const route = objects.find((o) => o.key === 'httpRoutes')!;
    const v = validateObject(route.object, route.place, route.locate);
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(formatProblem(v.problems[0]!), /^case\.in\.yaml:14 \(document 1\) HTTPRoute default\/a: spec\.hostnames\[0\]: /);
  });
});

describe('either format', () => {
  it('tells Kubernetes documents from keyed lists per document', () => {
    const text = `apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nnamespaces:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: b}\n`;
    const { objects, problems } = loadResources(text, 'mixed.yaml');
    assert.deepEqual(problems, []);
    assert.deepEqual(objects.map((o) => [o.place.resource, o.key, o.place.line]), [['Namespace a', undefined, 1], ['Namespace b', 'namespaces', 6]]);
  });
});

describe('performance', () => {
  it('loads and validates 2,000 HTTPRoutes in well under a second of CPU', () => {
    const text = httpRoutesYAML(2000);
    const start = process.cpuUsage();
    const loaded = loadKubernetesYAML(text, 'routes.yaml');
    let admitted = 0;
    for (const o of loaded.objects) if (validateObject(o.object, o.place, o.locate).ok) admitted++;
    const used = process.cpuUsage(start);
    const ms = (used.user + used.system) / 1000;
    assert.equal(admitted, 2000);
    assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms of CPU`);
  });
});
