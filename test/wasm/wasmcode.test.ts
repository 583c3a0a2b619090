// How policies name Wasm modules to the cache: download URLs (oci:// and the latest tag), pull
// policy, checksum, and the pull secret read from a dockerconfigjson Secret (ReferenceGrants
// across namespaces); broken sources are left to the translation to report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wasmDownloadURL, wasmModulesToFetch } from '../../src/gatewayapi/wasmcode.js';
import { emptyResources, type Resources } from '../../src/resources/resources.js';

test('download URLs', () => {
  assert.equal(wasmDownloadURL({ type: 'HTTP', http: { url: 'https://x/y.wasm' } }), 'https://x/y.wasm');
  assert.equal(wasmDownloadURL({ type: 'Image', image: { url: 'ghcr.io/a/b' } }), 'oci://ghcr.io/a/b:latest');
  assert.equal(wasmDownloadURL({ type: 'Image', image: { url: 'localhost:5000/a' } }), 'oci://localhost:5000/a:latest');
  assert.equal(wasmDownloadURL({ type: 'Image', image: { url: 'oci://ghcr.io/a/b:v1' } }), 'oci://ghcr.io/a/b:v1');
  const pinned = `ghcr.io/a/b@sha256:${'a'.repeat(64)}`;
  assert.equal(wasmDownloadURL({ type: 'Image', image: { url: pinned } }), `oci://${pinned}`);
  assert.throws(() => wasmDownloadURL({ type: 'HTTP' }), /missing HTTP field/);
});

test('modules to fetch, with pull secrets', () => {
  const r: Resources = emptyResources();
  const docker = JSON.stringify({ auths: { 'ghcr.io': { auth: 'dTpw' } } });
  r.secrets.push(
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pull', namespace: 'default' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(docker).toString('base64') } } as never,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'other', namespace: 'default' }, data: { token: 'eA==' } } as never,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pull', namespace: 'creds' }, data: { '.dockerconfigjson': Buffer.from(docker).toString('base64') } } as never,
  );
  const image = (url: string, pullSecretRef?: object) => ({ code: { type: 'Image', image: { url, ...(pullSecretRef ? { pullSecretRef } : {}) }, pullPolicy: 'Always' } });
  r.envoyExtensionPolicies.push({
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'EnvoyExtensionPolicy',
    metadata: { name: 'p', namespace: 'default', resourceVersion: '7' },
    spec: {
      wasm: [
        { code: { type: 'HTTP', http: { url: 'https://x/m.wasm', sha256: 'b'.repeat(64) } } },
        image('ghcr.io/a/b:v1', { name: 'pull' }),
        image('ghcr.io/a/c', { name: 'other' }),
        image('ghcr.io/a/d', { name: 'pull', namespace: 'creds' }),
      ],
    },
  } as never);
  const got = wasmModulesToFetch(r);
  assert.deepEqual(got, [
    { url: 'https://x/m.wasm', request: { resourceName: 'envoyextensionpolicy/default/p/wasm/0', resourceVersion: '7', sha256: 'b'.repeat(64) } },
    { url: 'oci://ghcr.io/a/b:v1', request: { resourceName: 'envoyextensionpolicy/default/p/wasm/1', resourceVersion: '7', pullPolicy: 'Always', pullSecret: docker } },
  ], 'a Secret without .dockerconfigjson, and one in another namespace without a ReferenceGrant, are left out');
  r.referenceGrants.push({
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    metadata: { name: 'g', namespace: 'creds' },
    spec: { from: [{ group: 'gateway.envoyproxy.io', kind: 'EnvoyExtensionPolicy', namespace: 'default' }], to: [{ group: '', kind: 'Secret' }] },
  } as never);
  assert.deepEqual(wasmModulesToFetch(r).map((m) => m.url), ['https://x/m.wasm', 'oci://ghcr.io/a/b:v1', 'oci://ghcr.io/a/d:latest']);
});
