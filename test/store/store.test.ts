import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyedStore, type Changes } from '../../src/store/store.js';

const plain = <T>(c: Changes<T>) => Object.fromEntries(c);

test('a burst of sets reaches a subscriber as one batch with the latest value per key', async () => {
  const store = new KeyedStore<number>();
  const batches: Record<string, number | undefined>[] = [];
  store.subscribe((c) => void batches.push(plain(c)));
  store.set('a', 1);
  store.set('a', 2);
  store.set('b', 1);
  store.delete('b');
  await store.idle();
  assert.deepEqual(batches, [{ a: 2, b: undefined }]);
});

test('a new subscriber first gets every current key; equal values are not changes', async () => {
  const store = new KeyedStore<string>();
  store.set('x', 'one');
  store.set('y', 'two');
  const batches: Record<string, string | undefined>[] = [];
  store.subscribe((c) => void batches.push(plain(c)));
  await store.idle();
  assert.equal(store.set('x', 'one'), false);
  await store.idle();
  assert.deepEqual(batches, [{ x: 'one', y: 'two' }]);
});

test('changes made while a slow subscriber works are coalesced into its next batch', async () => {
  const store = new KeyedStore<number>();
  const batches: Record<string, number | undefined>[] = [];
  store.subscribe(async (c) => {
    batches.push(plain(c));
    await sleep(30);
  });
  store.set('k', 1);
  await sleep(5);
  for (let i = 2; i <= 50; i++) store.set('k', i);
  store.set('other', 7);
  await store.idle();
  assert.deepEqual(batches, [{ k: 1 }, { k: 50, other: 7 }]);
});

test('replace applies a whole new key set in one batch', async () => {
  const store = new KeyedStore<number>({ equals: (a, b) => a === b });
  store.set('a', 1);
  store.set('b', 2);
  const batches: Record<string, number | undefined>[] = [];
  store.subscribe((c) => void batches.push(plain(c)), { replay: false });
  store.replace(new Map([['b', 2], ['c', 3]]));
  await store.idle();
  assert.deepEqual(batches, [{ a: undefined, c: 3 }]);
  assert.deepEqual([...store.keys()].sort(), ['b', 'c']);
});

test('a failing handler is reported and keeps receiving updates', async () => {
  const errors: unknown[] = [];
  const store = new KeyedStore<number>({ onError: (e) => errors.push(e) });
  let calls = 0;
  store.subscribe(() => {
    calls++;
    if (calls === 1) throw new Error('boom');
  });
  store.set('a', 1);
  await store.idle();
  store.set('a', 2);
  await store.idle();
  assert.equal(calls, 2);
  assert.equal(errors.length, 1);
});

test('unsubscribing stops delivery', async () => {
  const store = new KeyedStore<number>();
  let calls = 0;
  const stop = store.subscribe(() => void calls++);
  stop();
  store.set('a', 1);
  await store.idle();
  assert.equal(calls, 0);
});
