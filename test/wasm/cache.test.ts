// The Wasm module cache against real servers on loopback: an HTTP file server and an OCI registry
// stand-in (token service, private repositories). Checksums, pull policies, the three image
// packagings, pull secrets, limits, and the mTLS server the proxies fetch from.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WasmModuleRequest } from '../../src/gatewayapi/settings.js';
import { generateCertificates } from '../../src/infra/certgen.js';
import { WasmModuleCache, type WasmModuleCacheOptions } from '../../src/wasm/cache.js';
import { parseImageReference, pluginFromTarGz } from '../../src/wasm/oci.js';
import { WasmModuleServer } from '../../src/wasm/server.js';
import { dockerImage, ociVariantImage, sha256, startFileServer, startRegistry, tar, wasmPlugin, type Registry } from './support.js';
import { gzipSync } from 'node:zlib';

const req = (o: Partial<WasmModuleRequest> = {}): WasmModuleRequest => ({ resourceName: 'envoyextensionpolicy/default/p/wasm/0', resourceVersion: '1', ...o });

describe('Wasm module cache', () => {
  let dir: string;
  let module: Buffer;
  let module2: Buffer;
  let files: Awaited<ReturnType<typeof startFileServer>>;
  let registry: Registry;
  const bodies = new Map<string, Buffer>();
  const caches: WasmModuleCache[] = [];
  const newCache = (o: Partial<WasmModuleCacheOptions> = {}) => {
    const c = new WasmModuleCache({ dir: join(dir, String(caches.length)), timeoutMs: 5000, ...o });
    c.setServingURLPrefix('https://127.0.0.1:18002/');
    caches.push(c);
    return c;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'egts-wasm-cache-'));
    module = await wasmPlugin('one');
    module2 = await wasmPlugin('two');
    bodies.set('/plugin.wasm', module);
    bodies.set('/changing.wasm', module);
    bodies.set('/not-wasm', Buffer.from('<html>hello</html>'));
    files = await startFileServer(bodies);
    registry = await startRegistry();
  });
  after(async () => {
    for (const c of caches) c.stop();
    await files.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('HTTP: fetched, stored by content, served under a salted name; the checksum is the module\'s', async () => {
    const cache = newCache();
    const url = files.url('/plugin.wasm');
    assert.match((cache.resolve(url, req()) as { error: string }).error, /not fetched yet/);
    await cache.prefetch([{ url, request: req() }]);
    const got = cache.resolve(url, req());
    assert.ok('servingURL' in got);
    assert.equal(got.checksum, sha256(module));
    const name = got.servingURL.slice('https://127.0.0.1:18002/'.length);
    assert.match(name, /^[\w-]{43}\.wasm$/);
    assert.notEqual(name, `${sha256(url)}.wasm`, 'not guessable from the URL');
    assert.deepEqual(readFileSync(cache.fileFor(name)!), module);
    assert.equal(cache.fileFor('other.wasm'), undefined);
  });

  test('HTTP: a matching sha256 passes, a wrong one is the error Envoy Gateway gives', async () => {
    const cache = newCache();
    const url = files.url('/plugin.wasm');
    const wrong = 'a'.repeat(64);
    await cache.prefetch([{ url, request: req({ sha256: sha256(module) }) }, { url, request: req({ sha256: wrong, resourceName: 'x' }) }]);
    assert.equal((cache.resolve(url, req({ sha256: sha256(module) })) as { checksum: string }).checksum, sha256(module));
    assert.deepEqual(cache.resolve(url, req({ sha256: wrong })), { error: `module downloaded from ${url} has checksum ${sha256(module)}, which does not match: ${wrong}` });
  });

  test('HTTP: not a Wasm binary, 404, unreachable', async () => {
    const cache = newCache();
    const bad = files.url('/not-wasm');
    const missing = files.url('/missing.wasm');
    const gone = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => gone.once('listening', r));
    const closed = `http://127.0.0.1:${(gone.address() as net.AddressInfo).port}/x.wasm`;
    await new Promise((r) => gone.close(r));
    await cache.prefetch([bad, missing, closed].map((url) => ({ url, request: req() })));
    assert.deepEqual(cache.resolve(bad, req()), { error: `fetched Wasm binary from ${bad} is invalid` });
    assert.match((cache.resolve(missing, req()) as { error: string }).error, /HTTP 404/);
    assert.match((cache.resolve(closed, req()) as { error: string }).error, /ECONNREFUSED/);
  });

  test('HTTP: size limit', async () => {
    const cache = newCache({ maxModuleBytes: 16 });
    const url = files.url('/plugin.wasm');
    await cache.prefetch([{ url, request: req() }]);
    assert.match((cache.resolve(url, req()) as { error: string }).error, /more than the 16 (bytes )?allowed/);
  });

  test('pull policy: IfNotPresent keeps the module; Always fetches again when the policy changes', async () => {
    const cache = newCache();
    const url = files.url('/changing.wasm');
    await cache.prefetch([{ url, request: req() }]);
    const hits = () => files.hits.get('/changing.wasm') ?? 0;
    const first = hits();
    bodies.set('/changing.wasm', module2);
    try {
      await cache.prefetch([{ url, request: req({ resourceVersion: '2' }) }]);
      assert.equal(hits(), first, 'IfNotPresent: no new download');
      assert.equal((cache.resolve(url, req()) as { checksum: string }).checksum, sha256(module));
      await cache.prefetch([{ url, request: req({ resourceVersion: '2', pullPolicy: 'Always' }) }]);
      assert.equal(hits(), first, 'Always, same version: no new download');
      await cache.prefetch([{ url, request: req({ resourceVersion: '3', pullPolicy: 'Always' }) }]);
      assert.equal(hits(), first + 1);
      assert.equal((cache.resolve(url, req({ pullPolicy: 'Always' })) as { checksum: string }).checksum, sha256(module2));
    } finally {
      bodies.set('/changing.wasm', module);
    }
  });

  test('a background fetch announces its outcome', async () => {
    let changes = 0;
    const cache = newCache({ onChange: () => changes++ });
    const url = files.url('/plugin.wasm');
    await cache.prefetch([{ url, request: req() }], 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(changes, 1);
    assert.ok('checksum' in cache.resolve(url, req()));
  });

  test('a failed fetch is retried in the background while still wanted; its arrival is announced', async () => {
    let changes = 0;
    const cache = newCache({ retryMs: 50, onChange: () => changes++ });
    cache.start();
    const url = files.url('/later.wasm');
    await cache.prefetch([{ url, request: req() }]);
    assert.match((cache.resolve(url, req()) as { error: string }).error, /HTTP 404/);
    bodies.set('/later.wasm', module);
    try {
      const end = Date.now() + 5000;
      while (!('checksum' in cache.resolve(url, req())) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.equal((cache.resolve(url, req()) as { checksum: string }).checksum, sha256(module));
      assert.ok(changes >= 2, 'the failure, then the arrival');
      // A source the resources no longer name is not retried.
      const gone = files.url('/gone.wasm');
      await cache.prefetch([{ url: gone, request: req() }]);
      await cache.prefetch([]);
      const hits = files.hits.get('/gone.wasm');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(files.hits.get('/gone.wasm'), hits);
    } finally {
      bodies.delete('/later.wasm');
      cache.stop();
    }
  });

  test('modules stored by an earlier run are used without downloading (pinned, or through the index)', async () => {
    const d = join(dir, 'persist');
    const url = files.url('/plugin.wasm');
    const a = new WasmModuleCache({ dir: d });
    await a.prefetch([{ url, request: req() }]);
    const before = files.hits.get('/plugin.wasm');
    const b = new WasmModuleCache({ dir: d });
    await b.prefetch([{ url, request: req({ sha256: sha256(module) }) }]);
    assert.equal(files.hits.get('/plugin.wasm'), before);
    assert.equal((b.resolve(url, req({ sha256: sha256(module) })) as { checksum: string }).checksum, sha256(module));
    // Unpinned, under IfNotPresent: the index says which module the URL gave.
    const c = new WasmModuleCache({ dir: d });
    await c.prefetch([{ url, request: req() }]);
    assert.equal(files.hits.get('/plugin.wasm'), before);
    assert.equal((c.resolve(url, req()) as { checksum: string }).checksum, sha256(module));
    // The salt persists too: the serving name is the same.
    b.setServingURLPrefix('p/');
    a.setServingURLPrefix('p/');
    assert.equal((a.resolve(url, req()) as { servingURL: string }).servingURL, (b.resolve(url, req({ sha256: sha256(module) })) as { servingURL: string }).servingURL);
  });

  test('expired modules are deleted', async () => {
    const cache = newCache({ moduleExpiryMs: 1000 });
    const url = files.url('/plugin.wasm');
    await cache.prefetch([{ url, request: req() }]);
    const got = cache.resolve(url, req()) as { servingURL: string };
    const name = got.servingURL.split('/').pop()!;
    const file = cache.fileFor(name)!;
    cache.purge(Date.now() + 2000);
    assert.equal(cache.fileFor(name), undefined);
    assert.throws(() => readFileSync(file));
    assert.match((cache.resolve(url, req()) as { error: string }).error, /not fetched yet/);
  });

  test('OCI: oci-variant and Docker compat images through the token flow; the image sha256 is the manifest digest', async () => {
    const oci = ociVariantImage(module);
    const docker = dockerImage(module2);
    registry.images.set('wasm/oci', new Map([['v1', oci]]));
    registry.images.set('wasm/docker', new Map([['latest', docker]]));
    const cache = newCache();
    const u1 = `oci://${registry.host}/wasm/oci:v1`;
    const u2 = `oci://${registry.host}/wasm/docker:latest`;
    const u3 = `oci://${registry.host}/wasm/oci@sha256:${oci.digest}`;
    await cache.prefetch([
      { url: u1, request: req({ sha256: oci.digest }) },
      { url: u2, request: req() },
      { url: u3, request: req() },
      { url: u1, request: req({ sha256: 'b'.repeat(64), resourceName: 'y' }) },
    ]);
    assert.equal((cache.resolve(u1, req({ sha256: oci.digest })) as { checksum: string }).checksum, sha256(module));
    assert.equal((cache.resolve(u2, req()) as { checksum: string }).checksum, sha256(module2));
    assert.equal((cache.resolve(u3, req()) as { checksum: string }).checksum, sha256(module));
    assert.deepEqual(cache.resolve(u1, req({ sha256: 'b'.repeat(64) })), { error: `module downloaded from ${u1} has checksum ${oci.digest}, which does not match: ${'b'.repeat(64)}` });
    assert.ok(registry.requests.includes('GET /token'));
  });

  test('OCI: a private repository needs the pull secret\'s credentials', async () => {
    registry.images.set('private/wasm', new Map([['v2', ociVariantImage(module)]]));
    registry.private.set('private/wasm', 'alice:s3cret');
    const cache = newCache();
    const url = `oci://${registry.host}/private/wasm:v2`;
    const good = JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } });
    const bad = JSON.stringify({ auths: { [registry.host]: { username: 'alice', password: 'wrong' } } });
    await cache.prefetch([{ url, request: req({ pullSecret: good }) }, { url, request: req({ pullSecret: bad }) }, { url, request: req() }]);
    assert.equal((cache.resolve(url, req({ pullSecret: good })) as { checksum: string }).checksum, sha256(module));
    assert.match((cache.resolve(url, req({ pullSecret: bad })) as { error: string }).error, /^could not fetch Wasm OCI image: could not fetch manifest: .*HTTP 401/);
    assert.match((cache.resolve(url, req()) as { error: string }).error, /HTTP 401/);
  });

  test('image references and tar layers', () => {
    assert.deepEqual(parseImageReference('oci://docker.io/envoyproxy/gateway-wasm:v1'), { registry: 'docker.io', repository: 'envoyproxy/gateway-wasm', reference: 'v1' });
    assert.deepEqual(parseImageReference('oci://busybox:latest'), { registry: 'docker.io', repository: 'library/busybox', reference: 'latest' });
    assert.deepEqual(parseImageReference('oci://localhost:5000/a/b@sha256:' + 'c'.repeat(64)), { registry: 'localhost:5000', repository: 'a/b', reference: 'sha256:' + 'c'.repeat(64) });
    assert.deepEqual(parseImageReference('ghcr.io/x/y'), { registry: 'ghcr.io', repository: 'x/y', reference: 'latest' });
    assert.throws(() => parseImageReference('oci://ghcr.io/X/y:1'), /invalid repository name/);
    const gz = gzipSync(tar({ 'README': Buffer.from('hi'), 'app/plugin.wasm': Buffer.from('\0asm\x01\0\0\0') }));
    assert.deepEqual(pluginFromTarGz(gz, 1 << 20), Buffer.from('\0asm\x01\0\0\0'));
    assert.throws(() => pluginFromTarGz(gzipSync(tar({ a: Buffer.from('x') })), 1 << 20), /plugin\.wasm not found in the archive/);
  });

  test('the server sends modules over mTLS to clients with a certificate of the CA only', async () => {
    const cache = newCache();
    const url = files.url('/plugin.wasm');
    await cache.prefetch([{ url, request: req() }]);
    const name = (cache.resolve(url, req()) as { servingURL: string }).servingURL.split('/').pop()!;
    const certs = generateCertificates();
    const server = new WasmModuleServer((p) => cache.fileFor(p), { cert: Buffer.from(certs.server.cert), key: Buffer.from(certs.server.key), ca: Buffer.from(certs.ca) });
    const { port } = await server.listen('127.0.0.1', 0);
    const call = (path: string, client: boolean) => new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const r = https.get({ host: '127.0.0.1', port, path, ca: certs.ca, ...(client ? { cert: certs.client.cert, key: certs.client.key } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      r.on('error', reject);
    });
    try {
      const ok = await call(`/${name}`, true);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, module);
      assert.equal((await call('/nope.wasm', true)).status, 404);
      await assert.rejects(call(`/${name}`, false));
    } finally {
      await server.close();
    }
  });
});
