import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoveryURL, issuersToDiscover, OIDCDiscovery } from '../../src/provider/oidcdiscovery.js';
import { translate } from '../../src/gatewayapi/translator.js';
import { loadHarness } from '../../src/cli/golden/harness.js';
import { caseResources } from '../../src/cli/golden/gatewayapi.js';
import { emptyResources, type Resources } from '../../src/resources/resources.js';
import type { SecurityPolicy } from '../../src/api/envoygateway/index.js';
import { corpusSkipReason, corpusSuiteDir } from '../support/corpus.js';

/** An OpenID provider on loopback: its discovery document, and how often it was asked. */
async function provider(doc: (base: string) => unknown, status = 200): Promise<{ base: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  let base = '';
  const server: Server = createServer((req, res) => {
    hits++;
    if (req.url !== '/realm/.well-known/openid-configuration') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc(base)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realm`;
  return { base, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}

function bundleWithIssuer(issuer: string, endpoints: { authorizationEndpoint?: string; tokenEndpoint?: string } = {}): Resources {
  const r = emptyResources();
  const policy: SecurityPolicy = {
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { namespace: 'default', name: 'oidc' },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }],
      oidc: { provider: { issuer, ...endpoints }, clientID: 'client', clientSecret: { name: 'secret' } },
    },
  };
  r.securityPolicies.push(policy);
  return r;
}

test('issuers are discovered only where the provider leaves an endpoint out', () => {
  assert.deepEqual(issuersToDiscover(bundleWithIssuer('https://a.example')), ['https://a.example']);
  assert.deepEqual(issuersToDiscover(bundleWithIssuer('https://b.example', { authorizationEndpoint: 'https://b.example/auth' })), ['https://b.example']);
  assert.deepEqual(issuersToDiscover(bundleWithIssuer('https://c.example', { authorizationEndpoint: 'https://c/a', tokenEndpoint: 'https://c/t' })), []);
  assert.equal(discoveryURL('https://a.example/realm/'), 'https://a.example/realm/.well-known/openid-configuration');
});

test('discovery documents are fetched once, kept, and announced when they arrive', async () => {
  const idp = await provider((base) => ({ issuer: base, authorization_endpoint: `${base}/auth`, token_endpoint: `${base}/token`, jwks_uri: `${base}/jwks` }));
  try {
    const changed: string[] = [];
    const d = new OIDCDiscovery({ onChange: (i) => changed.push(i) });
    const r = bundleWithIssuer(idp.base);
    assert.equal(d.documentsFor(r), undefined, 'nothing known before the first fetch');
    const docs = await d.resolve(r);
    assert.deepEqual(docs, { [idp.base]: { issuer: idp.base, authorization_endpoint: `${idp.base}/auth`, token_endpoint: `${idp.base}/token` } });
    assert.deepEqual(changed, [idp.base]);
    assert.deepEqual(d.documentsFor(r), docs);
    assert.equal(idp.hits(), 1, 'a fresh document is not fetched again');
  } finally {
    await idp.close();
  }
});

test('an issuer that fails is reported and tried again after the retry delay', async () => {
  const idp = await provider(() => ({ error: 'down' }), 503);
  try {
    const errors: string[] = [];
    const d = new OIDCDiscovery({ retryMs: 0, onError: (_i, m) => errors.push(m) });
    const r = bundleWithIssuer(idp.base);
    assert.equal(await d.resolve(r), undefined);
    assert.match(errors[0] ?? '', /HTTP 503/);
    await d.resolve(r);
    assert.equal(idp.hits(), 2);
  } finally {
    await idp.close();
  }
});

test('the translator takes the discovered endpoints of a provider that leaves them out', { skip: corpusSuiteDir('gatewayapi') ? false : corpusSkipReason }, async () => {
  const dir = corpusSuiteDir('gatewayapi')!;
  const name = 'securitypolicy-with-oidc-custom-cookies';
  const { resources, settings } = caseResources(name, readFileSync(join(dir, `${name}.in.yaml`), 'utf8'), loadHarness(dir), dir);
  const issuer = resources.securityPolicies[0]!.spec.oidc!.provider.issuer!;

  const without = translate(resources, settings);
  const rejected = without.resources.securityPolicies![0]!.status!.ancestors![0]!.conditions[0]!;
  assert.equal(rejected.reason, 'Invalid');
  assert.match(rejected.message, /openid-configuration/);

  // The issuer's document, as an OpenID provider on loopback serves it.
  const idp = await provider(() => ({ issuer, authorization_endpoint: 'https://login.example.net/authorize', token_endpoint: 'https://tokens.example.net/token' }));
  try {
    const d = new OIDCDiscovery({ fetch: (url, init) => fetch(String(url).replace(issuer, idp.base), init) });
    const oidcDiscovery = await d.resolve(resources);
    const out = translate({ ...resources, oidcDiscovery }, settings);
    assert.equal(out.resources.securityPolicies![0]!.status!.ancestors![0]!.conditions[0]!.reason, 'Accepted');
    const routes = Object.values(out.xdsIR).flatMap((x) => (x.http ?? []).flatMap((l) => l.routes ?? []));
    const oidc = routes.find((r) => r.security?.oidc)?.security?.oidc;
    assert.equal(oidc?.provider.authorizationEndpoint, 'https://login.example.net/authorize');
    assert.equal(oidc?.provider.tokenEndpoint, 'https://tokens.example.net/token');
  } finally {
    await idp.close();
  }
});
