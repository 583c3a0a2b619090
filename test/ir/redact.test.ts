// The IR's rendering for display: every declared secret field shows "[redacted]" wherever it
// sits, look-alike fields do not, the IR itself keeps its values; over the corpus, no input
// secret reaches the rendering while the IR itself (what the xDS translator reads) holds them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { caseResources } from '../../src/cli/golden/gatewayapi.js';
import { loadHarness } from '../../src/cli/golden/harness.js';
import { translate } from '../../src/gatewayapi/translator.js';
import { parseXdsIR } from '../../src/ir/load.js';
import { REDACTED, redactIR, secretFields } from '../../src/ir/redact.js';
import type { Xds } from '../../src/ir/xds.js';
import { corpusSkipReason, corpusSuiteDir } from '../support/corpus.js';

const key = (s: string) => Buffer.from(`-----BEGIN PRIVATE KEY-----\n${s}\n-----END PRIVATE KEY-----\n`).toString('base64');
const cert = (name: string) => ({ name, certificate: 'Y2VydA==', privateKey: key(name) });
const destination = (name: string) => ({
  name,
  settings: [{ name: `${name}/backend/0`, weight: 1, protocol: 'HTTP', tls: { clientCertificates: [cert(`${name}-client`)], caCertificate: { name: 'ca', certificate: 'Y2E=' } } }],
});

/** An IR with each kind of secret, in several of the places each can be. */
function sample(): Xds {
  return {
    http: [{
      name: 'default/gw/https',
      address: '0.0.0.0',
      port: 443,
      hostnames: ['*'],
      tls: { certificates: [cert('default/tls'), { name: 'default/sds', sds: { url: 'unix:///sds', certificateName: 'c' } }] },
      routes: [{
        name: 'route',
        hostname: '*',
        destination: { ...destination('route'), settings: [{ ...destination('route').settings[0]!, filters: { credentialInjection: { name: 'hrf/a', credential: 'QmVhcmVyIGFiYw==' } } }] },
        credentialInjection: { name: 'hrf/b', credential: 'QmFzaWMgeHl6' },
        addRequestHeaders: [{ name: 'x-key', value: ['not-secret'], append: true }],
        security: {
          oidc: { name: 'sp/oidc', provider: { destination: destination('oidc'), authorizationEndpoint: 'a', tokenEndpoint: 't' }, clientID: 'id', clientSecret: 'b2lkYy1jbGllbnQtc2VjcmV0', hmacSecret: 'aG1hYw==', redirectURL: 'r', redirectPath: '/cb', logoutPath: '/out', cookieSuffix: 's' },
          basicAuth: { name: 'sp/basic', users: 'dXNlcjp7U0hBfXg=' },
          apiKeyAuth: { credentials: [{ client: 'Y2xpZW50LTE=', key: 'a2V5LTE=' }], extractFrom: [{ headers: ['x-api-key'] }] },
          extAuth: { name: 'sp/ext', grpc: { destination: destination('extauth') }, contextExtensions: [{ name: 'tenant', value: 'dGVuYW50LWE=' }, { name: 'empty', value: '' }] },
        },
        traffic: { rateLimit: { global: { rules: [{ headerMatches: [{ name: 'x-user', distinct: true }] }] } } },
      }],
    }],
    tcp: [{ name: 'default/gw/tls', address: '0.0.0.0', port: 8443, tls: { certificates: [cert('default/tcp')] }, routes: [{ name: 'tcp-route', tls: { terminate: { certificates: [cert('default/term')] } }, destination: destination('tcp') }] }],
    globalResources: { envoyClientCertificate: cert('envoy-gateway-system/envoy') },
  } as unknown as Xds;
}

function secretsOf(ir: Xds): string[] {
  const r = ir.http![0]!.routes![0]!;
  const s = r.security!;
  return [
    ir.http![0]!.tls!.certificates![0]!.privateKey!,
    r.destination!.settings![0]!.tls!.clientCertificates![0]!.privateKey!,
    r.destination!.settings![0]!.filters!.credentialInjection!.credential,
    r.credentialInjection!.credential,
    s.oidc!.clientSecret, s.oidc!.hmacSecret,
    s.oidc!.provider.destination!.settings![0]!.tls!.clientCertificates![0]!.privateKey!,
    s.basicAuth!.users,
    s.apiKeyAuth!.credentials[0]!.key,
    s.extAuth!.contextExtensions![0]!.value,
    s.extAuth!.grpc!.destination.settings![0]!.tls!.clientCertificates![0]!.privateKey!,
    ir.tcp![0]!.tls!.certificates![0]!.privateKey!,
    ir.tcp![0]!.routes![0]!.tls!.terminate!.certificates![0]!.privateKey!,
    ir.tcp![0]!.routes![0]!.destination!.settings![0]!.tls!.clientCertificates![0]!.privateKey!,
    ir.globalResources!.envoyClientCertificate!.privateKey!,
  ];
}

test('every secret field is redacted wherever it sits; other fields are not', () => {
  const ir = sample();
  const before = JSON.stringify(ir);
  const shown = redactIR(ir);
  assert.deepEqual(secretsOf(shown), secretsOf(ir).map(() => REDACTED));
  const text = JSON.stringify(shown);
  for (const s of secretsOf(ir)) assert.ok(!text.includes(s), `${s} shown`);
  // Not secrets: certificates, CA bundles, client ids, header values, rate limit keys, an empty value.
  assert.equal(shown.http![0]!.tls!.certificates![0]!.certificate, 'Y2VydA==');
  assert.deepEqual(shown.http![0]!.tls!.certificates![1], ir.http![0]!.tls!.certificates![1]);
  const s = shown.http![0]!.routes![0]!.security!;
  assert.equal(s.apiKeyAuth!.credentials[0]!.client, 'Y2xpZW50LTE=');
  assert.equal(s.oidc!.clientID, 'id');
  assert.equal(s.extAuth!.contextExtensions![1]!.value, '');
  assert.equal(shown.http![0]!.routes![0]!.addRequestHeaders![0]!.value![0], 'not-secret');
  assert.equal(shown.http![0]!.routes![0]!.destination!.settings![0]!.tls!.caCertificate!.certificate, 'Y2E=');
  // The IR keeps its values; what holds no secret is shared, not copied.
  assert.equal(JSON.stringify(ir), before);
  assert.equal(shown.http![0]!.routes![0]!.traffic, ir.http![0]!.routes![0]!.traffic);
  assert.equal(shown.http![0]!.hostnames, ir.http![0]!.hostnames);
});

test('a map of IRs by key is rendered the same way', () => {
  const shown = redactIR({ 'default/gw': sample(), other: { http: [] } });
  assert.equal(shown['default/gw']!.globalResources!.envoyClientCertificate!.privateKey, REDACTED);
  assert.deepEqual(shown.other, { http: [] });
});

test('the declared list names each field once', () => {
  assert.equal(new Set(secretFields).size, secretFields.length);
});

// Secret data that must never be shown, by the key it has in a Kubernetes Secret.
const secretKeys = new Set(['tls.key', 'client-secret', 'hmac-secret', '.htpasswd', 'credential']);

test('over the gatewayapi corpus, no input secret reaches the rendered IR', { skip: corpusSuiteDir('gatewayapi') ? false : corpusSkipReason }, () => {
  const dir = corpusSuiteDir('gatewayapi')!;
  const harness = loadHarness(dir);
  let held = 0;
  const leaks: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.in.yaml')).sort()) {
    const name = f.slice(0, -'.in.yaml'.length);
    const { resources, settings } = caseResources(name, readFileSync(join(dir, f), 'utf8'), harness, dir);
    const values = new Set<string>();
    // API key Secrets: every value is a key.
    const apiKeySecrets = new Set<string>();
    for (const p of resources.securityPolicies) {
      for (const ref of p.spec?.apiKeyAuth?.credentialRefs ?? []) apiKeySecrets.add(`${ref.namespace ?? p.metadata.namespace}/${ref.name}`);
    }
    for (const s of resources.secrets) {
      const apiKeys = apiKeySecrets.has(`${s.metadata.namespace}/${s.metadata.name}`);
      for (const [k, v] of Object.entries(s.data ?? {})) if (v && (apiKeys || secretKeys.has(k))) values.add(v);
    }
    let xdsIR: Record<string, unknown>;
    try {
      xdsIR = translate(resources, settings).xdsIR;
    } catch {
      continue; // the golden ratchet reports translation failures
    }
    const raw = JSON.stringify(xdsIR);
    const shown = JSON.stringify(redactIR(xdsIR));
    for (const v of values) {
      if (raw.includes(v)) held++;
      const text = Buffer.from(v, 'base64').toString('utf8');
      if (shown.includes(v) || (text.length >= 8 && shown.includes(JSON.stringify(text).slice(1, -1)))) leaks.push(`${name}: ${v.slice(0, 24)}...`);
    }
  }
  assert.deepEqual(leaks, []);
  // The IR itself holds them: the xDS translator reads them there.
  assert.ok(held > 50, `only ${held} input secrets found in the IR`);
});

test('a rendered IR reads back with each secret as the bytes of "[redacted]", as Envoy Gateway reads it', () => {
  const ir = parseXdsIR(JSON.stringify(redactIR(sample())));
  const bytes = Buffer.from(REDACTED).toString('base64');
  assert.deepEqual(secretsOf(ir), secretsOf(sample()).map(() => bytes));
  // Text that is not a secret stays text.
  assert.equal(ir.http![0]!.routes![0]!.addRequestHeaders![0]!.value![0], 'not-secret');
  assert.equal(ir.http![0]!.routes![0]!.security!.oidc!.clientID, 'id');
});
