// A kept-alive upstream connection whose last response ended while the client's side was
// applying back-pressure is read again by the next request on it (it used to stay paused).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { get, startProxy } from './auth/harness.js';

test('an upstream connection reused after a large response reads the next response', { timeout: 10_000 }, async () => {
  const p = await startProxy({ filters: [], routes: [{ name: 'r', prefix: '/' }] });
  try {
    // The backend echoes the request: a large body makes a large response.
    assert.equal((await get(p.port, '/big', {}, 'POST', 'x'.repeat(30_000))).status, 200);
    assert.equal((await get(p.port, '/next')).status, 200);
    assert.equal(p.backend.seen.length, 2);
  } finally {
    await p.close();
  }
});
