// A rotated Secret reaches the proxies: the IR carries secret values, so a new htpasswd or API
// key is a new IR and a new snapshot (with "[redacted]" in the IR, the change would compare equal
// and never be sent). In-process control plane, the real ADS client standing in for a proxy.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { certificatePaths } from '../../src/infra/certgen.js';
import { certsDir } from '../../src/infra/host/home.js';
import { AdsClient, type ResourceUpdate } from '../../src/proxy/xds/index.js';
import { defaultConfig } from '../../src/serve/config.js';
import { ControlPlane } from '../../src/serve/control-plane.js';
import { createLogger } from '../../src/serve/log.js';
import { TYPE_URL } from '../../src/xds/proto/index.js';
import { until } from '../support/until.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const manifests = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: eg}
spec: {gatewayClassName: eg, listeners: [{name: http, protocol: HTTP, port: 18081}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: eg}]
  rules: [{backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: app}]}]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata: {name: app}
spec: {endpoints: [{ip: {address: 127.0.0.1, port: 3999}}]}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: keys}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: web}]
  apiKeyAuth: {credentialRefs: [{name: api-keys}], extractFrom: [{headers: [x-api-key]}]}
`;

const secret = (key: string) => `apiVersion: v1
kind: Secret
metadata: {name: api-keys}
data: {client-1: ${b64(key)}}
`;

test('a rotated API key Secret is sent to the proxies', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-rot-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-home-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  writeFileSync(join(dir, 'gateway.yaml'), manifests);
  writeFileSync(join(dir, 'secret.yaml'), secret('first-key-0001'));
  const cp = new ControlPlane({
    config: { ...defaultConfig([dir]), admin: { host: '127.0.0.1', port: 0 } },
    home,
    xds: { host: '127.0.0.1', port: 0 },
    proxy: { kind: 'none' },
    watch: { debounceMs: 30, resyncMs: 0 },
    log: createLogger('error', () => {}),
  });
  await cp.start();
  t.after(() => cp.stop(1000));

  const certs = certificatePaths(certsDir(home)).client;
  const held = new Map<string, ResourceUpdate>();
  const client = new AdsClient({
    server: `127.0.0.1:${cp.xdsPort}`,
    node: { id: 'rotation-proxy', cluster: 'default/eg' },
    tls: { caFile: certs.ca, certFile: certs.cert, keyFile: certs.key, serverName: 'localhost' },
    wildcardTypes: [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route],
    apply: (u) => {
      held.set(u.typeUrl, u);
      return undefined;
    },
  });
  client.start();
  t.after(() => client.stop());
  // The route's api_key_auth configuration, as the proxy holds it.
  const served = () => JSON.stringify(held.get(TYPE_URL.route)?.resources.map((r) => r.resource) ?? []);

  await until('the first key', () => served().includes('first-key-0001'));
  writeFileSync(join(dir, 'secret.yaml'), secret('second-key-0002'));
  await until('the rotated key', () => served().includes('second-key-0002'));
  assert.ok(!served().includes('first-key-0001'));
});
