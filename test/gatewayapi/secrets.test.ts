// Secrets travel inside the IR, from the Gateway API translator to the xDS translator, and
// nothing else keeps them: a translation depends on its own input only (equal names in other
// translations do not matter, a rotated key replaces the old one), and churn leaves nothing behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { bundlesByClass, loadInput } from '../../src/cli/translate.js';
import { defaultControllerName, defaultSettings } from '../../src/gatewayapi/settings.js';
import { translate } from '../../src/gatewayapi/translator.js';
import { generateCertificates } from '../../src/infra/certgen.js';
import type { Xds } from '../../src/ir/xds.js';
import { translateXds } from '../../src/xds/translator/index.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sha = (s: string) => createHash('sha1').update(s).digest('base64');

interface Input {
  policy?: string;
  htpasswd: string;
  apiKey: string;
  tls?: { cert: string; key: string };
}

function manifests({ policy = 'auth', htpasswd, apiKey, tls }: Input): string {
  const listener = tls ? `{name: https, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: server-tls}]}}` : `{name: http, protocol: HTTP, port: 80}`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: ${defaultControllerName}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec: {gatewayClassName: eg, listeners: [${listener}]}
---
${tls ? `apiVersion: v1
kind: Secret
metadata: {name: server-tls, namespace: default}
type: kubernetes.io/tls
data: {tls.crt: ${b64(tls.cert)}, tls.key: ${b64(tls.key)}}
---
` : ''}apiVersion: v1
kind: Secret
metadata: {name: users, namespace: default}
data: {.htpasswd: ${b64(htpasswd)}}
---
apiVersion: v1
kind: Secret
metadata: {name: keys, namespace: default}
data: {client: ${b64(apiKey)}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.0.0.1, ports: [{name: http, port: 8080, protocol: TCP}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: ${policy}, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]
  basicAuth: {users: {name: users}}
  apiKeyAuth: {credentialRefs: [{name: keys}], extractFrom: [{headers: [x-api-key]}]}
`;
}

function toIR(input: Input): Xds {
  const { objects, problems } = loadInput(manifests(input), 'secrets.yaml');
  assert.deepEqual(problems, []);
  const [bundle] = bundlesByClass(objects, defaultControllerName);
  const ir = translate(bundle!.resources, defaultSettings({ gatewayClassName: 'eg' })).xdsIR['default/gw'] as Xds | undefined;
  assert.ok(ir, 'an IR for default/gw');
  return ir;
}

function toXds(ir: Xds): string {
  const { resources, errors } = translateXds(ir, { controllerNamespace: 'envoy-gateway-system' });
  assert.deepEqual(errors, []);
  return JSON.stringify(resources);
}

test('the IR holds the secrets and the xDS translator takes them from there', () => {
  const htpasswd = `alice:{SHA}${sha('a')}\n`;
  const ir = toIR({ htpasswd, apiKey: 'key-1' });
  const security = ir.http![0]!.routes![0]!.security!;
  assert.equal(security.basicAuth!.users, b64(htpasswd));
  assert.deepEqual(security.apiKeyAuth!.credentials, [{ client: b64('client'), key: b64('key-1') }]);
  // A copy made elsewhere (another process, a store) translates the same: nothing on the side.
  const xds = toXds(JSON.parse(JSON.stringify(ir)));
  assert.ok(xds.includes(b64(htpasswd)));
  assert.ok(xds.includes('"key-1"'));
});

test('equal names in another translation do not change this one', () => {
  const a = toIR({ htpasswd: `alice:{SHA}${sha('a')}\n`, apiKey: 'key-a' });
  const b = toIR({ htpasswd: `bob:{SHA}${sha('b')}\n`, apiKey: 'key-b' });
  const xdsA = toXds(a);
  assert.ok(xdsA.includes(b64(`alice:{SHA}${sha('a')}\n`)) && xdsA.includes('"key-a"'));
  assert.ok(!xdsA.includes(b64(`bob:{SHA}${sha('b')}\n`)) && !xdsA.includes('"key-b"'));
  assert.ok(toXds(b).includes('"key-b"'));
});

test('a rotated certificate and key replace the old ones', () => {
  const { server, client } = generateCertificates();
  const first = toXds(toIR({ htpasswd: `alice:{SHA}${sha('a')}\n`, apiKey: 'k', tls: server }));
  const second = toXds(toIR({ htpasswd: `alice:{SHA}${sha('a')}\n`, apiKey: 'k', tls: client }));
  assert.ok(first.includes(b64(server.key)));
  assert.ok(second.includes(b64(client.key)));
  assert.ok(!second.includes(b64(server.key)));
});

test('policy and secret churn leaves nothing behind', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  // Each round: a new policy name and ~60 KB of new htpasswd and API key, translated to xDS.
  const round = (i: number) => {
    const lines: string[] = [];
    for (let u = 0; u < 1000; u++) lines.push(`user${u}-${i}:{SHA}${sha(`${i}/${u}`)}`);
    toXds(toIR({ policy: `auth-${i}`, htpasswd: `${lines.join('\n')}\n`, apiKey: `key-${i}-${'x'.repeat(8000)}` }));
  };
  for (let i = 0; i < 10; i++) round(i);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 10; i < 210; i++) round(i);
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  // Were each round's secrets kept, 200 rounds would hold more than 12 MB.
  assert.ok(grown < 6 << 20, `heap grew by ${(grown / 1048576).toFixed(1)} MB over 200 rounds`);
});
