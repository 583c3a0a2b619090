// :path handling before routing: RFC 3986 normalisation, slash merging, escaped slashes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePath, processPath } from '../../src/proxy/http/path.js';

test('dot segments and percent-encoding are normalised', () => {
  assert.equal(normalizePath('/a/./b/../c'), '/a/c');
  assert.equal(normalizePath('/a/b/..'), '/a/');
  assert.equal(normalizePath('/../../x'), '/x');
  assert.equal(normalizePath('/%61%2e%7e/%2f'), '/a.~/%2F');
  assert.equal(normalizePath('/a%zz'), undefined);
});

test('slashes merge, queries are left alone, escaped slashes follow the action', () => {
  assert.deepEqual(processPath('//a///b?x=//y', true, true, 'KEEP_UNCHANGED'), { kind: 'ok', path: '/a/b?x=//y' });
  assert.deepEqual(processPath('/a%2Fb', true, true, 'UNESCAPE_AND_REDIRECT'), { kind: 'redirect', path: '/a/b' });
  assert.deepEqual(processPath('/a%2fb', true, true, 'UNESCAPE_AND_FORWARD'), { kind: 'ok', path: '/a/b' });
  assert.deepEqual(processPath('/a%2Fb', true, true, 'REJECT_REQUEST'), { kind: 'reject' });
  assert.deepEqual(processPath('/plain/path', true, true, 'UNESCAPE_AND_REDIRECT'), { kind: 'ok', path: '/plain/path' });
});
