// Every Envoy configuration in the golden corpus's xds suite is compiled by the proxy's config
// model (no sockets): a ratchet of the cases that load (corpus_load.passing.txt) must keep
// loading, and a case that cannot load must say which resource and field. Refreshing the list:
// EGTS_UPDATE_RATCHET=1 node --test dist/test/proxy/corpus_load.test.js
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileResource, formatConfigProblem, type ConfigProblem } from '../../src/proxy/config/errors.js';
import { compileListener } from '../../src/proxy/listener/listener_config.js';
import '../../src/proxy/proxy.js';
import { compileRouteConfiguration } from '../../src/proxy/router/route_table.js';
import { compileSecret } from '../../src/proxy/tls/secrets.js';
import { compileCluster } from '../../src/proxy/upstream/cluster_config.js';
import { compileAssignment } from '../../src/proxy/upstream/endpoints.js';
import { corpusSkipReason, corpusSuiteDir, repoRoot } from '../support/corpus.js';

const ratchet = join(repoRoot, 'test', 'proxy', 'corpus_load.passing.txt');

function load(expected: any): ConfigProblem[] {
  const readFile = () => Buffer.from('file contents');
  const ctx = { readFile, routeProvider: (name: string) => ({ name, table: undefined }), clusters: { get: () => undefined }, secrets: { get: () => undefined, version: 0 }, udpSupported: true };
  const problems: ConfigProblem[] = [];
  const run = (kind: ConfigProblem['kind'], name: string, fn: () => unknown) => { const r = compileResource(kind, name, fn); if (r.problem) problems.push(r.problem); };
  for (const c of expected.clusters ?? []) run('Cluster', c.name, () => compileCluster(c, readFile));
  for (const e of expected.endpoints ?? []) run('ClusterLoadAssignment', e.clusterName, () => compileAssignment(e));
  for (const r of expected.routes ?? []) run('RouteConfiguration', r.name, () => compileRouteConfiguration(r, { readFile }));
  for (const l of expected.listeners ?? []) run('Listener', l.name, () => compileListener(l, ctx));
  for (const s of expected.secrets ?? []) run('Secret', s.name, () => compileSecret(s, readFile));
  return problems;
}

const dir = corpusSuiteDir('xds');

test('the corpus Envoy configurations load into the proxy as before', { skip: dir ? false : corpusSkipReason }, () => {
  const loading: string[] = [];
  for (const f of readdirSync(dir!).filter((x) => x.endsWith('.expected.json')).sort()) {
    const expected = JSON.parse(readFileSync(join(dir!, f), 'utf8'));
    const problems = load(expected);
    // Whatever fails names the resource and a field path.
    for (const p of problems) assert.ok(p.name !== undefined && p.message, formatConfigProblem(p));
    if (!problems.length) loading.push(f.slice(0, -'.expected.json'.length));
  }
  if (process.env.EGTS_UPDATE_RATCHET) writeFileSync(ratchet, `${loading.join('\n')}\n`);
  const before = existsSync(ratchet) ? readFileSync(ratchet, 'utf8').split('\n').filter(Boolean) : [];
  const lost = before.filter((n) => !loading.includes(n));
  assert.deepEqual(lost, [], `cases that no longer load: ${lost.join(', ')}`);
});
