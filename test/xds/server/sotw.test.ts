// State-of-the-world ADS conformance, against the real server on loopback with a raw gRPC client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TYPE_URL } from '../../../src/xds/proto/index.js';
import { cluster, endpoints, listener, names, node, serverForTests, snapshot, v1 } from './fixtures.js';

const t = serverForTests();

test('a late proxy waits for its snapshot, then gets clusters before listeners, each with a version and nonce', async () => {
  const s = t.client.sotw();
  s.send({ node: node('gw/late'), typeUrl: TYPE_URL.listener });
  s.send({ typeUrl: TYPE_URL.cluster });
  assert.ok(await s.quiet(), 'nothing is sent before the key has a snapshot');
  t.server.cache.set('gw/late', snapshot('1', v1));
  const first = await s.next();
  const second = await s.next();
  assert.equal(first.typeUrl, TYPE_URL.cluster);
  assert.deepEqual(names(first.resources), ['c1', 'c2']);
  assert.equal(second.typeUrl, TYPE_URL.listener);
  assert.deepEqual(names(second.resources), ['l1']);
  assert.ok(first.versionInfo && first.nonce && second.nonce && first.nonce !== second.nonce);
  assert.equal(t.server.connections().find((c) => c.cluster === 'gw/late')?.nodeId, 'proxy-gw/late');
  s.close();
});

test('ACK, named subscriptions, stale nonces, pushes of only what changed', async () => {
  t.server.cache.set('gw/a', snapshot('1', v1));
  const s = t.client.sotw();
  s.send({ node: node('gw/a'), typeUrl: TYPE_URL.cluster });
  const cds = await s.next();
  s.send({ typeUrl: TYPE_URL.cluster, versionInfo: cds.versionInfo, responseNonce: cds.nonce }); // ACK
  s.send({ typeUrl: TYPE_URL.endpoint, resourceNames: ['c1'] });
  const eds = await s.next();
  assert.deepEqual(names(eds.resources), ['c1']);
  // ACK carrying a new name: answered with the new set at the same version.
  s.send({ typeUrl: TYPE_URL.endpoint, versionInfo: eds.versionInfo, responseNonce: eds.nonce, resourceNames: ['c1', 'c2'] });
  const eds2 = await s.next();
  assert.deepEqual(names(eds2.resources), ['c1', 'c2']);
  assert.equal(eds2.versionInfo, eds.versionInfo);
  s.send({ typeUrl: TYPE_URL.endpoint, versionInfo: eds2.versionInfo, responseNonce: eds2.nonce, resourceNames: ['c1', 'c2'] });
  // A request answering an older nonce is stale: ignored.
  s.send({ typeUrl: TYPE_URL.endpoint, versionInfo: eds.versionInfo, responseNonce: eds.nonce, resourceNames: ['c2'] });
  assert.ok(await s.quiet());
  const conn = t.server.connections().find((c) => c.cluster === 'gw/a')!;
  assert.equal(conn.types.get(TYPE_URL.cluster)?.ackedVersion, cds.versionInfo);
  assert.deepEqual(conn.types.get(TYPE_URL.endpoint)?.subscribed, ['c1', 'c2']);
  // Only the endpoints change: clusters are not sent again.
  t.server.cache.set('gw/a', snapshot('2', { ...v1, endpoints: [endpoints('c1', 9001), endpoints('c2', 8002)] }));
  const eds3 = await s.next();
  assert.equal(eds3.typeUrl, TYPE_URL.endpoint);
  assert.notEqual(eds3.versionInfo, eds2.versionInfo);
  assert.ok(await s.quiet());
  s.close();
});

test('a NACK is recorded with the proxy message, not answered, and the next snapshot is sent', async () => {
  t.server.cache.set('gw/n', snapshot('1', v1));
  const s = t.client.sotw();
  s.send({ node: node('gw/n'), typeUrl: TYPE_URL.listener });
  const lds = await s.next();
  s.send({ typeUrl: TYPE_URL.listener, versionInfo: '', responseNonce: lds.nonce, errorDetail: { code: 3, message: 'l1: unknown filter' } });
  assert.ok(await s.quiet(), 'a NACK does not bring the same response again');
  const nack = t.nacks.find((n) => n.nonce === lds.nonce)!;
  assert.equal(nack.message, 'l1: unknown filter');
  assert.equal(nack.version, lds.versionInfo);
  const conn = t.server.connections().find((c) => c.cluster === 'gw/n')!;
  assert.equal(conn.types.get(TYPE_URL.listener)?.lastNack?.message, 'l1: unknown filter');
  assert.equal(conn.types.get(TYPE_URL.listener)?.ackedVersion, undefined);
  t.server.cache.set('gw/n', snapshot('2', { ...v1, listeners: [listener('l1', 10081)] }));
  const fixed = await s.next();
  assert.equal(fixed.typeUrl, TYPE_URL.listener);
  assert.notEqual(fixed.versionInfo, lds.versionInfo);
  s.close();
});

test('a reconnecting proxy that holds the current version gets nothing; an older one gets the current', async () => {
  t.server.cache.set('gw/r', snapshot('1', v1));
  const s1 = t.client.sotw();
  s1.send({ node: node('gw/r'), typeUrl: TYPE_URL.cluster });
  const cds = await s1.next();
  s1.close();
  const s2 = t.client.sotw();
  s2.send({ node: node('gw/r'), typeUrl: TYPE_URL.cluster, versionInfo: cds.versionInfo });
  assert.ok(await s2.quiet());
  s2.close();
  const s3 = t.client.sotw();
  s3.send({ node: node('gw/r'), typeUrl: TYPE_URL.cluster, versionInfo: 'something-older' });
  assert.equal((await s3.next()).versionInfo, cds.versionInfo);
  s3.close();
});

test('each proxy gets the snapshot of its own IR key', async () => {
  t.server.cache.set('ns/one', snapshot('1', { clusters: [cluster('one')] }));
  t.server.cache.set('ns/two', snapshot('1', { clusters: [cluster('two')] }));
  const a = t.client.sotw();
  const b = t.client.sotw();
  a.send({ node: node('ns/one'), typeUrl: TYPE_URL.cluster });
  b.send({ node: node('ns/two'), typeUrl: TYPE_URL.cluster });
  assert.deepEqual(names((await a.next()).resources), ['one']);
  assert.deepEqual(names((await b.next()).resources), ['two']);
  t.server.cache.set('ns/two', snapshot('2', { clusters: [cluster('two'), cluster('three')] }));
  assert.deepEqual(names((await b.next()).resources), ['two', 'three']);
  assert.ok(await a.quiet());
  a.close();
  b.close();
});

test('a stream without a node is refused', async () => {
  const s = t.client.sotw();
  s.send({ typeUrl: TYPE_URL.cluster });
  await assert.rejects(s.next(), /node/);
});
