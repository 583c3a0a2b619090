import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem } from '../../src/api/place.js';
import { FileProvider, type ProviderSnapshot } from '../../src/provider/file/provider.js';

const gatewayClass = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: eg
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
`;

const gateway = (port = 8080) => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: eg
spec:
  gatewayClassName: eg
  listeners:
  - name: http
    protocol: HTTP
    port: ${port}
`;

const route = (name: string, path = '/') => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
spec:
  parentRefs:
  - name: eg
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: ${path}
`;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'egts-provider-'));
}

const ids = (s: ProviderSnapshot) => [...s.objects.keys()];

test('reads folders recursively, many documents a file, defaults namespaces, fills metadata', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'routes', 'team'), { recursive: true });
  writeFileSync(join(dir, 'gateway.yaml'), `${gatewayClass}---\n${gateway()}`);
  writeFileSync(join(dir, 'routes', 'team', 'a.yml'), `${route('a')}\n---\n# only a comment\n---\n${route('b').replace('name: b', 'name: b\n  namespace: team')}`);
  writeFileSync(join(dir, 'routes', 'notes.txt'), 'not a manifest');
  writeFileSync(join(dir, 'routes', '.hidden.yaml'), route('hidden'));
  writeFileSync(join(dir, 'routes', 'a.yaml~'), route('backup'));
  const p = new FileProvider({ paths: [dir], resyncMs: 0, cwd: dir });
  const s = await p.start();
  p.stop();
  assert.deepEqual(ids(s), ['Gateway default/eg', 'GatewayClass eg', 'HTTPRoute default/a', 'HTTPRoute team/b']);
  assert.deepEqual(s.problems, []);
  const gc = s.objects.get('GatewayClass eg')!;
  assert.equal(gc.object.metadata.namespace, undefined);
  const r = s.objects.get('HTTPRoute default/a')!;
  assert.equal(r.object.metadata.generation, 1);
  assert.ok(r.object.metadata.uid);
  assert.match(String(r.object.metadata.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(r.place.file, join('routes', 'team', 'a.yml'));
  assert.equal(s.objects.get('HTTPRoute team/b')!.place.document, 1);
});

test('an edit bumps the generation of what changed only; unchanged objects stay the same value', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'all.yaml'), `${route('a')}---\n${route('b')}`);
  const p = new FileProvider({ paths: [dir], resyncMs: 0 });
  const first = await p.start();
  p.stop();
  writeFileSync(join(dir, 'all.yaml'), `${route('a', '/v2')}---\n${route('b')}`);
  assert.equal(await p.reload(), true);
  const second = p.current();
  assert.equal(second.objects.get('HTTPRoute default/a')!.object.metadata.generation, 2);
  assert.equal(second.objects.get('HTTPRoute default/a')!.object.metadata.uid, first.objects.get('HTTPRoute default/a')!.object.metadata.uid);
  assert.equal(second.objects.get('HTTPRoute default/b')!.object, first.objects.get('HTTPRoute default/b')!.object);
  // Touching a file without changing it is no change.
  writeFileSync(join(dir, 'all.yaml'), `${route('a', '/v2')}---\n${route('b')}`);
  assert.equal(await p.reload(), false);
});

test('a YAML syntax error keeps the whole file at its last good version and says where', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, `${route('a', '/one')}---\n${route('b')}`);
  const p = new FileProvider({ paths: [dir], resyncMs: 0, cwd: dir });
  await p.start();
  p.stop();
  writeFileSync(file, `${route('a', '/two')}---\n${route('b')}  - bad: [unclosed\n`);
  await p.reload();
  const s = p.current();
  assert.deepEqual(ids(s), ['HTTPRoute default/a', 'HTTPRoute default/b']);
  assert.equal(s.objects.get('HTTPRoute default/a')!.object.spec.rules[0].matches[0].path.value, '/one');
  assert.equal(s.files[0]!.heldAtLastGood, true);
  const text = s.problems.map(formatProblem).join('\n');
  assert.match(text, /routes\.yaml:\d+ \(document 2\): malformed YAML/);
  assert.match(text, /last good version \(2 resources\) stays in force/);
  // Fixing it applies the fix and clears the problems.
  writeFileSync(file, `${route('a', '/three')}---\n${route('b')}`);
  await p.reload();
  assert.equal(p.current().objects.get('HTTPRoute default/a')!.object.spec.rules[0].matches[0].path.value, '/three');
  assert.deepEqual(p.current().problems, []);
});

test('a file caught between truncate and write keeps its resources; a half-written edit falls back to them', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, route('a', '/one'));
  const updates: ProviderSnapshot[] = [];
  const p = new FileProvider({ paths: [dir], resyncMs: 0, cwd: dir, onUpdate: (s) => updates.push(s) });
  await p.start();
  t.after(() => p.stop());
  // The watcher fired on the truncate of a save (writeFile), before its write.
  writeFileSync(file, '');
  await p.reload();
  assert.deepEqual(ids(p.current()), ['HTTPRoute default/a']);
  // The write then brings a broken edit: the last good version is the route, not the empty moment.
  writeFileSync(file, `${route('a', '/two')}  oops: [unclosed\n`);
  await p.reload();
  assert.equal(p.current().objects.get('HTTPRoute default/a')!.object.spec.rules[0].matches[0].path.value, '/one');
  assert.equal(p.current().files[0]!.heldAtLastGood, true);
  // A file emptied for good applies once it has settled (about a second), without another event.
  writeFileSync(file, '');
  const before = updates.length;
  await p.reload();
  assert.deepEqual(ids(p.current()), ['HTTPRoute default/a']);
  const deadline = Date.now() + 3000;
  while (p.current().objects.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ids(p.current()), []);
  assert.ok(updates.length > before);
});

test('an invalid object keeps its last good version while its neighbours update', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, `${route('a', '/one')}---\n${route('b', '/one')}`);
  const p = new FileProvider({ paths: [dir], resyncMs: 0, cwd: dir });
  await p.start();
  p.stop();
  // 'a' gets a path that does not start with '/', 'b' a valid change.
  writeFileSync(file, `${route('a', 'no-slash')}---\n${route('b', '/two')}`);
  await p.reload();
  const s = p.current();
  assert.equal(s.objects.get('HTTPRoute default/a')!.object.spec.rules[0].matches[0].path.value, '/one');
  assert.equal(s.objects.get('HTTPRoute default/b')!.object.spec.rules[0].matches[0].path.value, '/two');
  const text = s.problems.map(formatProblem).join('\n');
  assert.match(text, /routes\.yaml:\d+ \(document 1\) HTTPRoute a: spec\.rules\[0\]\.matches\[0\]\.path/);
  assert.match(text, /last good version stays in force/);
  // A new invalid object (never good) is left out.
  writeFileSync(join(dir, 'new.yaml'), route('c', 'bad'));
  await p.reload();
  assert.equal(p.current().objects.has('HTTPRoute default/c'), false);
});

test('an object defined in two files is taken from the first and the other is reported', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.yaml'), route('same', '/a'));
  writeFileSync(join(dir, 'b.yaml'), route('same', '/b'));
  const p = new FileProvider({ paths: [dir], resyncMs: 0, cwd: dir });
  const s = await p.start();
  p.stop();
  assert.equal(s.objects.get('HTTPRoute default/same')!.object.spec.rules[0].matches[0].path.value, '/a');
  assert.match(s.problems.map(formatProblem).join('\n'), /b\.yaml.*already defined in a\.yaml/);
});

test('deleting a file removes its objects; a missing path is reported, not fatal', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.yaml'), route('a'));
  writeFileSync(join(dir, 'b.yaml'), route('b'));
  const p = new FileProvider({ paths: [dir, join(dir, 'nope.yaml')], resyncMs: 0, cwd: dir });
  const s = await p.start();
  p.stop();
  assert.match(s.problems.map(formatProblem).join('\n'), /nope\.yaml: cannot read: no such file/);
  rmSync(join(dir, 'b.yaml'));
  await p.reload();
  assert.deepEqual(ids(p.current()), ['HTTPRoute default/a']);
});

test('the watcher picks up edits, new folders and editor-style atomic saves, debounced', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.yaml'), route('a', '/one'));
  const updates: ProviderSnapshot[] = [];
  let wake: (() => void) | undefined;
  const p = new FileProvider({
    paths: [dir],
    resyncMs: 0,
    debounceMs: 50,
    onUpdate: (s) => {
      updates.push(s);
      wake?.();
    },
  });
  t.after(() => p.stop());
  await p.start();
  const next = () => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no update within 2s')), 2000);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  // An atomic save: write a temporary file, rename it over the original.
  let started = Date.now();
  writeFileSync(join(dir, '.a.yaml.tmp'), route('a', '/two'));
  renameSync(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
  await next();
  assert.ok(Date.now() - started < 1000);
  assert.equal(updates.at(-1)!.objects.get('HTTPRoute default/a')!.object.spec.rules[0].matches[0].path.value, '/two');
  // A burst of writes in a new folder arrives as one update.
  const count = updates.length;
  started = Date.now();
  mkdirSync(join(dir, 'more'));
  for (let i = 0; i < 10; i++) writeFileSync(join(dir, 'more', `r${i}.yaml`), route(`r${i}`));
  await next();
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(Date.now() - started < 1500);
  assert.equal(updates.length, count + 1);
  assert.equal(updates.at(-1)!.objects.size, 11);
});
