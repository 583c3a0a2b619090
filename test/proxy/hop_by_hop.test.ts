// Hop-by-hop headers a proxy never forwards: the fixed set, and the names a Connection header
// lists (case-insensitively, comma-separated, repeated Connection headers joined).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listsToken, stripHopByHop } from '../../src/proxy/http/headers.js';

test('stripHopByHop removes the fixed set and what Connection names, in any case', () => {
  const h = ['connection', 'Keep-Alive, X-Private', 'x-private', '1', 'keep-alive', 'timeout=5', 'x-kept', '2', 'connection', ' x-Other ', 'x-other', '3', 'te', 'trailers', 'upgrade', 'websocket'];
  stripHopByHop(h, false);
  assert.deepEqual(h, ['x-kept', '2', 'te', 'trailers']);
  const u = ['connection', 'upgrade', 'upgrade', 'websocket', 'host', 'a'];
  stripHopByHop(u, true);
  assert.deepEqual(u, ['upgrade', 'websocket', 'host', 'a']);
  const none = ['x-a', '1', 'te', 'gzip'];
  stripHopByHop(none, false);
  assert.deepEqual(none, ['x-a', '1']);
});

test('listsToken matches whole comma-separated tokens, case-insensitively', () => {
  assert.equal(listsToken('Keep-Alive, Upgrade', 'upgrade'), true);
  assert.equal(listsToken('keep-alive,upgraded', 'upgrade'), false);
  assert.equal(listsToken('', 'upgrade'), false);
});
