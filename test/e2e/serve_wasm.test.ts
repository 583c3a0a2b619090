// Wasm extensions through `egts serve`: an EnvoyExtensionPolicy whose module is served by a local
// HTTP server is fetched by serve's Wasm cache, served to the built-in proxy over mTLS, and runs
// on traffic (it adds `x-wasm-custom: FOO` to responses). A wrong sha256 is an error in the
// policy's status; an OCI image from a registry stand-in (token flow) is pulled and used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../support/corpus.js';
import { ociVariantImage, sha256, startFileServer, startRegistry, wasmPlugin } from '../wasm/support.js';

const egts = join(repoRoot, 'bin', 'egts.js');

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function until(what: string, ok: () => Promise<boolean>, ms: number, log: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${log()}`);
    await sleep(100);
  }
}

const policy = (code: string) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata: {name: wasm, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: echo}]
  wasm:
  - name: custom-header
    rootID: my_root_id
    code:
${code}
`;

test('egts serve: a Wasm module fetched by the cache runs in the proxy; wrong sha256 and OCI images', { timeout: 120_000 }, async (t) => {
  const module = await wasmPlugin('http');
  const imageModule = await wasmPlugin('image');
  const files = await startFileServer(new Map([['/plugin.wasm', module]]));
  const registry = await startRegistry();
  const image = ociVariantImage(imageModule);
  registry.images.set('wasm/header', new Map([['v1', image]]));
  const dir = mkdtempSync(join(tmpdir(), 'egts-e2e-serve-wasm-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-e2e-home-'));
  const [gatewayPort, echoPort, adminPort, xdsPort, wasmPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  cpSync(join(repoRoot, 'examples', 'quickstart'), dir, { recursive: true });
  writeFileSync(join(dir, 'gateway.yaml'), readFileSync(join(dir, 'gateway.yaml'), 'utf8').replace('port: 8080', `port: ${gatewayPort}`));
  writeFileSync(join(dir, 'backend.yaml'), readFileSync(join(dir, 'backend.yaml'), 'utf8').replace('port: 3000', `port: ${echoPort}`));
  const url = files.url('/plugin.wasm');
  writeFileSync(join(dir, 'policy.yaml'), policy(`      type: HTTP\n      http: {url: "${url}", sha256: ${sha256(module)}}`));
  const log: string[] = [];
  const serve: ChildProcess = spawn(process.execPath, [egts, 'serve', dir, '--home', home, '--admin', `127.0.0.1:${adminPort}`, '--xds', `127.0.0.1:${xdsPort}`, '--wasm', `127.0.0.1:${wasmPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.on('data', (d) => log.push(String(d)));
  serve.stderr!.on('data', (d) => log.push(String(d)));
  const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    await files.close();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  const logText = () => log.join('');
  const header = async () => {
    const res = await fetch(`http://127.0.0.1:${gatewayPort}/`, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status === 200 ? res.headers.get('x-wasm-custom') : `status ${res.status}`;
  };
  const policyStatus = async () => {
    const p = (await (await fetch(`http://127.0.0.1:${adminPort}/api/status/envoyextensionpolicy/default/wasm`)).json()) as any;
    return p.status?.ancestors?.[0]?.conditions?.find((c: any) => c.type === 'Accepted');
  };
  const dumpedSha = async () => /"sha256":"([0-9a-f]{64})"/.exec(JSON.stringify(await (await fetch(`http://127.0.0.1:${adminPort}/api/config_dump/default/eg`)).json()))?.[1];

  // 1. The module, fetched from its URL and served by the cache, runs on traffic.
  await until('the plugin\'s header', async () => (await header()) === 'FOO', 30_000, logText);
  assert.match(logText(), new RegExp(`Wasm module cache on 127\\.0\\.0\\.1:${wasmPort} \\(mTLS\\)`));
  assert.equal((await policyStatus())?.status, 'True');
  assert.equal(await dumpedSha(), sha256(module));
  const dump = JSON.stringify(await (await fetch(`http://127.0.0.1:${adminPort}/api/config_dump/default/eg`)).json());
  assert.match(dump, new RegExp(`"uri":"https://127\\.0\\.0\\.1:${wasmPort}/[\\w-]{43}\\.wasm"`));
  assert.equal(files.hits.get('/plugin.wasm'), 1, 'fetched once');

  // 2. A sha256 that does not match: the policy says so, the route answers 500 (fail closed).
  const wrong = 'f'.repeat(64);
  writeFileSync(join(dir, 'policy.yaml'), policy(`      type: HTTP\n      http: {url: "${url}", sha256: ${wrong}}`));
  await until('the checksum error', async () => (await policyStatus())?.status === 'False', 15_000, logText);
  const cond = await policyStatus();
  assert.equal(cond.reason, 'Invalid');
  assert.equal(cond.message.replace(/\.$/, ''), `Wasm: module downloaded from ${url} has checksum ${sha256(module)}, which does not match: ${wrong}`);
  await until('the route failing closed', async () => (await header()) === 'status 500', 10_000, logText);

  // 3. An OCI image (oci variant) from the registry stand-in, pinned by its manifest digest.
  writeFileSync(join(dir, 'policy.yaml'), policy(`      type: Image\n      image: {url: "${registry.host}/wasm/header:v1", sha256: ${image.digest}}`));
  await until('the image\'s module in use', async () => (await dumpedSha()) === sha256(imageModule) && (await header()) === 'FOO', 30_000, logText);
  assert.equal((await policyStatus())?.status, 'True');
  assert.ok(registry.requests.includes('GET /token'));

  serve.kill('SIGTERM');
  assert.equal(await exited, 0);
});
