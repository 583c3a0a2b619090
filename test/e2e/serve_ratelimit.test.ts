// Global rate limiting through `egts serve`: an EnvoyGateway configuration with `rateLimit` (no
// backend: the built-in service counts in memory; a timeout a loaded test machine can meet) and a BackendTrafficPolicy global limit. The
// proxy answers 429 after N requests per client; raising the limit in the policy file applies
// without a restart, and another client's counter is its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/corpus.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/until.js';

const egts = join(repoRoot, 'bin', 'egts.js');

async function get(port: number, user: string): Promise<{ status: number; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-user': user }, signal: AbortSignal.timeout(3000) });
  await res.arrayBuffer();
  return { status: res.status, headers: res.headers };
}

const policy = (requests: number) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: limit, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: echo}]
  rateLimit:
    type: Global
    global:
      rules:
      - clientSelectors: [{headers: [{name: x-user, type: Distinct}]}]
        limit: {requests: ${requests}, unit: Hour}
`;

test('egts serve: global rate limit through the built-in rate limit service; edits apply', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-e2e-serve-rl-'));
  const home = mkdtempSync(join(tmpdir(), 'egts-e2e-home-'));
  const [gatewayPort, echoPort, adminPort, xdsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  cpSync(join(repoRoot, 'examples', 'quickstart'), dir, { recursive: true });
  writeFileSync(join(dir, 'gateway.yaml'), readFileSync(join(dir, 'gateway.yaml'), 'utf8').replace('port: 8080', `port: ${gatewayPort}`));
  writeFileSync(join(dir, 'backend.yaml'), readFileSync(join(dir, 'backend.yaml'), 'utf8').replace('port: 3000', `port: ${echoPort}`));
  writeFileSync(join(dir, 'policy.yaml'), policy(3));
  const config = join(home, 'eg.yaml');
  writeFileSync(config, `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyGateway
provider: {type: Custom, custom: {resource: {type: File, file: {paths: [${JSON.stringify(dir)}]}}, infrastructure: {type: Host, host: {}}}}
rateLimit: {timeout: 1s}
`);
  const log: string[] = [];
  const serve: ChildProcess = spawn(process.execPath, [egts, 'serve', '-c', config, '--home', home, '--admin', `127.0.0.1:${adminPort}`, '--xds', `127.0.0.1:${xdsPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stdout!.on('data', (d) => log.push(String(d)));
  serve.stderr!.on('data', (d) => log.push(String(d)));
  const exited = new Promise<number | null>((resolve) => serve.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });
  const logText = () => log.join('');

  // The first answer may come before the limit is known to the proxy: wait for the headers.
  await until('a rate limited answer', async () => (await get(gatewayPort, 'warmup')).headers.has('x-ratelimit-limit'), 30_000, logText);
  assert.match(logText(), /rate limit service on 127\.0\.0\.1:\d+ \(mTLS\)/);
  // The EnvoyGateway rateLimit settings reach the proxy's ratelimit filter.
  const dump = JSON.stringify(await (await fetch(`http://127.0.0.1:${adminPort}/api/config_dump/default/eg`)).json());
  assert.match(dump, /"name":"envoy\.filters\.http\.ratelimit","typedConfig":\{[^}]*"timeout":"1s"/);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await get(gatewayPort, 'alice')).status);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  assert.equal((await get(gatewayPort, 'bob')).status, 200, 'another client has its own counter');
  const r = await get(gatewayPort, 'bob');
  assert.equal(r.headers.get('x-ratelimit-limit')?.split(',')[0], '3');
  assert.equal(r.headers.get('x-ratelimit-remaining'), '1');

  // Raising the limit applies; alice's counter (4 so far) carries over, so 2 more are allowed.
  writeFileSync(join(dir, 'policy.yaml'), policy(6));
  await until('the new limit', async () => (await get(gatewayPort, 'carol')).headers.get('x-ratelimit-limit')?.split(',')[0] === '6', 10_000, logText);
  const after: number[] = [];
  for (let i = 0; i < 3; i++) after.push((await get(gatewayPort, 'alice')).status);
  assert.deepEqual(after, [200, 200, 429]);

  serve.kill('SIGTERM');
  assert.equal(await exited, 0);
});
