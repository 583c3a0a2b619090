// Re-reading a manifest file: documents whose text did not change are taken from the last read
// (same objects, places moved with them); changed and new documents are read and validated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readManifests } from '../../src/provider/file/manifests.js';

const sig = { mtimeMs: 1, ctimeMs: 1, size: 1, ino: 1 };
const route = (name: string, host: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
spec:
  hostnames: [${host}]
  parentRefs: [{name: eg}]
`;

test('unchanged documents keep their objects; edited ones are read again; places follow the text', () => {
  const a = route('a', 'a.example.com');
  const b = route('b', 'b.example.com');
  const first = readManifests('/f.yaml', 'f.yaml', `${a}---\n${b}`, sig);
  assert.equal(first.problems.length, 0);
  assert.deepEqual(first.objects.map((o) => o.place.line), [1, 9]);

  // A new document in front: a and b move down two documents' worth of lines, b is edited.
  const c = route('c', 'c.example.com');
  const b2 = route('b', 'b2.example.com');
  const second = readManifests('/f.yaml', 'f.yaml', `${c}---\n${a}---\n${b2}`, sig, first);
  assert.deepEqual(second.objects.map((o) => o.id), ['HTTPRoute default/c', 'HTTPRoute default/a', 'HTTPRoute default/b']);
  assert.equal(second.objects[1]!.object, first.objects[0]!.object, 'a is the very same object');
  assert.notEqual(second.objects[2]!.object, first.objects[1]!.object);
  assert.deepEqual(second.objects[2]!.object.spec.hostnames, ['b2.example.com']);
  assert.deepEqual(second.objects.map((o) => [o.place.document, o.place.line]), [[0, 1], [1, 9], [2, 17]]);
  assert.equal(second.objects[1]!.place.file, 'f.yaml');
});

test('a document that had problems is read again, and a duplicate is reported on every read', () => {
  const a = route('a', 'a.example.com');
  const bad = 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: bad\nspec:\n  hostnames: 7\n';
  const text = `${a}---\n${bad}---\n${a}`;
  const first = readManifests('/f.yaml', 'f.yaml', text, sig);
  const second = readManifests('/f.yaml', 'f.yaml', `${text}\n`, sig, first);
  for (const s of [first, second]) {
    assert.equal(s.objects.length, 1);
    assert.ok(s.problems.some((p) => p.message.includes('defined more than once')), 'duplicate reported');
    assert.ok(s.problems.some((p) => p.place.document === 1), 'invalid document reported');
  }
});
