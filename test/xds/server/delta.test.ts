// Incremental (delta) ADS conformance, against the real server on loopback with a raw gRPC client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TYPE_URL } from '../../../src/xds/proto/index.js';
import { cluster, endpoints, listener, names, node, serverForTests, snapshot, v1 } from './fixtures.js';

const t = serverForTests();

test('wildcard: everything first, then only what changed and what was removed', async () => {
  t.server.cache.set('gw/w', snapshot('1', v1));
  const s = t.client.delta();
  s.send({ node: node('gw/w'), typeUrl: TYPE_URL.cluster });
  const r1 = await s.next();
  assert.equal(r1.typeUrl, TYPE_URL.cluster);
  assert.deepEqual(names(r1.resources), ['c1', 'c2']);
  assert.equal(r1.systemVersionInfo, '1');
  assert.ok(r1.resources!.every((r) => r.version));
  s.send({ typeUrl: TYPE_URL.cluster, responseNonce: r1.nonce });
  t.server.cache.set('gw/w', snapshot('2', { ...v1, clusters: [cluster('c1', '9s'), cluster('c3')] }));
  const r2 = await s.next();
  assert.deepEqual(names(r2.resources), ['c1', 'c3']);
  assert.deepEqual(r2.removedResources, ['c2']);
  assert.equal(r2.systemVersionInfo, '2');
  s.send({ typeUrl: TYPE_URL.cluster, responseNonce: r2.nonce });
  // A new snapshot with the same clusters sends nothing.
  t.server.cache.set('gw/w', snapshot('3', { ...v1, clusters: [cluster('c1', '9s'), cluster('c3')], listeners: [] }));
  assert.ok(await s.quiet());
  assert.equal(t.server.connections().find((c) => c.cluster === 'gw/w')?.types.get(TYPE_URL.cluster)?.ackedVersion, '2');
  s.close();
});

test('a reconnecting proxy sends what it holds and gets only the difference', async () => {
  t.server.cache.set('gw/r', snapshot('1', v1));
  const s1 = t.client.delta();
  s1.send({ node: node('gw/r'), typeUrl: TYPE_URL.cluster });
  const r1 = await s1.next();
  s1.close();
  const held = Object.fromEntries(r1.resources!.map((r) => [r.name!, r.version!]));
  t.server.cache.set('gw/r', snapshot('2', { ...v1, clusters: [cluster('c1'), cluster('c2', '7s'), cluster('c4')] }));
  const s2 = t.client.delta();
  s2.send({ node: node('gw/r'), typeUrl: TYPE_URL.cluster, initialResourceVersions: { ...held, gone: 'x' } });
  const r2 = await s2.next();
  assert.deepEqual(names(r2.resources), ['c2', 'c4']);
  assert.deepEqual(r2.removedResources, ['gone']);
  s2.close();
});

test('named subscriptions: subscribe, unsubscribe, and absent names reported removed', async () => {
  t.server.cache.set('gw/n', snapshot('1', v1));
  const s = t.client.delta();
  s.send({ node: node('gw/n'), typeUrl: TYPE_URL.endpoint, resourceNamesSubscribe: ['c1', 'nope'] });
  const r1 = await s.next();
  assert.deepEqual(names(r1.resources), ['c1']);
  assert.deepEqual(r1.removedResources, ['nope']);
  s.send({ typeUrl: TYPE_URL.endpoint, responseNonce: r1.nonce, resourceNamesSubscribe: ['c2'], resourceNamesUnsubscribe: ['c1', 'nope'] });
  const r2 = await s.next();
  assert.deepEqual(names(r2.resources), ['c2']);
  assert.equal(r2.removedResources, undefined);
  s.send({ typeUrl: TYPE_URL.endpoint, responseNonce: r2.nonce });
  // c1 changes but is no longer subscribed: nothing to send.
  t.server.cache.set('gw/n', snapshot('2', { ...v1, endpoints: [endpoints('c1', 1), endpoints('c2', 8002)] }));
  assert.ok(await s.quiet());
  assert.deepEqual(t.server.connections().find((c) => c.cluster === 'gw/n')?.types.get(TYPE_URL.endpoint)?.subscribed, ['c2']);
  s.close();
});

test('a NACK is recorded, and what it rejected is sent again with the next change', async () => {
  t.server.cache.set('gw/k', snapshot('1', v1));
  const s = t.client.delta();
  s.send({ node: node('gw/k'), typeUrl: TYPE_URL.listener });
  const r1 = await s.next();
  s.send({ typeUrl: TYPE_URL.listener, responseNonce: r1.nonce });
  t.server.cache.set('gw/k', snapshot('2', { ...v1, listeners: [listener('l1', 10081), listener('l2', 10082)] }));
  const r2 = await s.next();
  assert.deepEqual(names(r2.resources), ['l1', 'l2']);
  s.send({ typeUrl: TYPE_URL.listener, responseNonce: r2.nonce, errorDetail: { code: 3, message: 'l2: port in use' } });
  assert.ok(await s.quiet());
  assert.equal(t.nacks.find((n) => n.nonce === r2.nonce)?.message, 'l2: port in use');
  assert.equal(t.nacks.find((n) => n.nonce === r2.nonce)?.version, '2');
  // l2 is fixed; l1 did not change since the rejected response, but the proxy never applied it.
  t.server.cache.set('gw/k', snapshot('3', { ...v1, listeners: [listener('l1', 10081), listener('l2', 10083)] }));
  const r3 = await s.next();
  assert.deepEqual(names(r3.resources), ['l1', 'l2']);
  s.close();
});

test('a late proxy is answered when its snapshot arrives, clusters first', async () => {
  const s = t.client.delta();
  s.send({ node: node('gw/late'), typeUrl: TYPE_URL.listener });
  s.send({ typeUrl: TYPE_URL.cluster });
  assert.ok(await s.quiet());
  t.server.cache.set('gw/late', snapshot('1', v1));
  assert.equal((await s.next()).typeUrl, TYPE_URL.cluster);
  assert.equal((await s.next()).typeUrl, TYPE_URL.listener);
  s.close();
});
