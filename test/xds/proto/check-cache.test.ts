// The check cache: unchanged resources are answered from memory, changed ones checked again,
// and entries unused for a whole translation dropped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckCache } from '../../../src/xds/proto/check-cache.js';
import { TYPE_URL, checkResource } from '../../../src/xds/proto/index.js';

const cluster = (timeout: string) => ({ name: 'c1', type: 'EDS', connectTimeout: timeout, edsClusterConfig: { edsConfig: { ads: {} } } });

test('same JSON, same answer; other JSON, checked again', () => {
  const cache = new CheckCache();
  cache.nextGeneration();
  const a = cache.check(TYPE_URL.cluster, cluster('10s'));
  assert.deepEqual(a, checkResource(TYPE_URL.cluster, cluster('10s')));
  assert.equal(cache.check(TYPE_URL.cluster, cluster('10s')), a, 'a structurally equal resource is a hit');
  const enc = cache.encode(TYPE_URL.cluster, cluster('10s'));
  assert.ok('bytes' in enc && enc.bytes === a.bytes, 'encoding reuses the validated bytes');
  assert.notEqual(cache.check(TYPE_URL.cluster, cluster('5s')), a);
});

test('entries live one translation past their last use', () => {
  const cache = new CheckCache();
  cache.nextGeneration();
  const first = cache.encode(TYPE_URL.cluster, cluster('10s'));
  cache.nextGeneration();
  const second = cache.encode(TYPE_URL.cluster, cluster('10s'));
  assert.ok('bytes' in first && 'bytes' in second && first.bytes === second.bytes);
  cache.nextGeneration();
  cache.nextGeneration();
  const third = cache.encode(TYPE_URL.cluster, cluster('10s'));
  assert.ok('bytes' in third && 'bytes' in second && third.bytes !== second.bytes, 'dropped after a translation that did not use it');
});

test('validation problems and codec errors are kept and reported', () => {
  const cache = new CheckCache();
  cache.nextGeneration();
  const bad = { name: 'c1', connectTimeout: 'soon' };
  const checked = cache.check(TYPE_URL.cluster, bad);
  assert.ok(checked.problems.length > 0 && !checked.bytes);
  const enc = cache.encode(TYPE_URL.cluster, bad);
  assert.ok('field' in enc && enc.field === 'connectTimeout', JSON.stringify(enc));
  const unvalidated = cache.encode(TYPE_URL.cluster, { name: 'c2', nope: 1 });
  assert.ok('message' in unvalidated);
  // A resource encoded but not yet validated is validated when asked.
  const ok = cache.encode(TYPE_URL.cluster, cluster('3s'));
  assert.ok('bytes' in ok);
  assert.deepEqual(cache.check(TYPE_URL.cluster, cluster('3s')).problems, []);
});
