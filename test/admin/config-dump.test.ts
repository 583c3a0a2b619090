// The control plane's /api/config_dump never shows secret material, as Envoy's redacts its
// sensitive fields; certificates and everything else are shown as served.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configDump } from '../../src/admin/config-dump.js';
import { TYPE_URL } from '../../src/xds/proto/index.js';
import { makeSnapshot } from '../../src/xds/server/snapshot.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('private keys, passwords and generic secrets are redacted in the secrets dump', () => {
  const secrets = [
    { name: 'default/tls', tlsCertificate: { certificateChain: { inlineBytes: b64('CERT') }, privateKey: { inlineBytes: b64('THE-KEY') }, password: { inlineString: 'THE-PASSWORD' } } },
    { name: 'oauth2/hmac', genericSecret: { secret: { inlineBytes: b64('THE-HMAC') } } },
    { name: 'ca', validationContext: { trustedCa: { inlineBytes: b64('CA') } } },
  ];
  const { snapshot, problems } = makeSnapshot('1', { [TYPE_URL.secret]: secrets });
  assert.deepEqual(problems, []);
  const text = JSON.stringify(configDump(snapshot));
  for (const s of ['THE-KEY', 'THE-PASSWORD', 'THE-HMAC']) assert.ok(!text.includes(b64(s)) && !text.includes(s), `${s} shown`);
  assert.ok(text.includes(b64('CERT')) && text.includes(b64('CA')));
  assert.equal(text.split('[redacted]').length - 1, 3);
  // The snapshot, which proxies are served, keeps the values.
  assert.ok(JSON.stringify(snapshot.types.get(TYPE_URL.secret)!.resources.get('oauth2/hmac')!.json).includes(b64('THE-HMAC')));
});
