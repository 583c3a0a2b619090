// The ADS server over TLS with client certificates required (mTLS).
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { TYPE_URL } from '../../../src/xds/proto/index.js';
import { XdsServer } from '../../../src/xds/server/server.js';
import { hasOpenssl, makeTestPki } from '../../support/tls.js';
import { cluster, names, node, snapshot } from './fixtures.js';
import { RawAdsClient } from './raw-client.js';

test('mTLS: a client with a certificate from the CA is served; one without is refused', { skip: hasOpenssl() ? false : 'openssl not found' }, async () => {
  const pki = makeTestPki();
  const server = new XdsServer({ tls: { certFile: pki.serverCert, keyFile: pki.serverKey, caFile: pki.caCert }, warn: () => {} });
  try {
    const port = await server.listen('127.0.0.1:0');
    server.cache.set('gw/tls', snapshot('1', { clusters: [cluster('c1')] }));
    const ca = readFileSync(pki.caCert);
    const good = new RawAdsClient(`localhost:${port}`, credentials.createSsl(ca, readFileSync(pki.clientKey), readFileSync(pki.clientCert)));
    const s = good.sotw();
    s.send({ node: node('gw/tls'), typeUrl: TYPE_URL.cluster });
    assert.deepEqual(names((await s.next()).resources), ['c1']);
    s.close();
    good.close();
    const anonymous = new RawAdsClient(`localhost:${port}`, credentials.createSsl(ca));
    const a = anonymous.sotw();
    a.send({ node: node('gw/tls'), typeUrl: TYPE_URL.cluster });
    await assert.rejects(a.next(3000));
    anonymous.close();
  } finally {
    await server.close();
    rmSync(pki.dir, { recursive: true, force: true });
  }
});
