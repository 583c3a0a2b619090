// The built-in rate limit service's decisions: descriptor lookup (exact value, prefix, any value
// with one counter per value, depth must match), fixed windows, hits, shadow mode, unlimited,
// replaces, limit overrides; the configuration Envoy Gateway's policies produce (golden corpus)
// loads without problems.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileConfigs } from '../../src/ratelimit/config.js';
import { RateLimiter } from '../../src/ratelimit/limiter.js';
import { domainDocuments } from '../../src/ratelimit/load.js';
import { MemoryStore } from '../../src/ratelimit/store.js';
import { corpusSkipReason, corpusSuiteDir } from '../support/corpus.js';

function limiter(docs: unknown[], now: () => number) {
  const { config, problems } = compileConfigs(docs.map((value) => ({ value })));
  assert.deepEqual(problems, []);
  return new RateLimiter(config, new MemoryStore(), now);
}

const d = (...kv: string[]) => { const entries = []; for (let i = 0; i < kv.length; i += 2) entries.push({ key: kv[i]!, value: kv[i + 1]! }); return { entries }; };

test('a descriptor chain is limited per window; the response says what remains and when it resets', async () => {
  let now = 1_000_000_000_000; // 40 s into a minute
  const l = limiter([{ domain: 'd', descriptors: [{ key: 'route', value: 'r1', descriptors: [{ key: 'user', rate_limit: { requests_per_unit: 2, unit: 'MINUTE' } }] }] }], () => now);
  const ask = () => l.shouldRateLimit({ domain: 'd', descriptors: [d('route', 'r1', 'user', 'alice')] });
  const a = await ask();
  assert.equal(a.overallCode, 'OK');
  assert.deepEqual(a.statuses[0], { code: 'OK', currentLimit: { requestsPerUnit: 2, unit: 'MINUTE' }, limitRemaining: 1, durationUntilReset: '20s' });
  assert.equal((await ask()).overallCode, 'OK');
  const c = await ask();
  assert.equal(c.overallCode, 'OVER_LIMIT');
  assert.equal(c.statuses[0]!.limitRemaining, 0);
  // Another value of a key without a value has its own counter.
  assert.equal((await l.shouldRateLimit({ domain: 'd', descriptors: [d('route', 'r1', 'user', 'bob')] })).overallCode, 'OK');
  // The next window starts afresh.
  now += 60_000;
  assert.equal((await ask()).overallCode, 'OK');
  // A request deeper or shallower than the configuration has no limit.
  assert.deepEqual((await l.shouldRateLimit({ domain: 'd', descriptors: [d('route', 'r1')] })).statuses, [{ code: 'OK' }]);
  assert.deepEqual((await l.shouldRateLimit({ domain: 'd', descriptors: [d('route', 'r1', 'user', 'x', 'extra', 'y')] })).statuses, [{ code: 'OK' }]);
  // Unknown domains and routes are not limited.
  assert.equal((await l.shouldRateLimit({ domain: 'other', descriptors: [d('route', 'r1', 'user', 'alice')] })).overallCode, 'OK');
});

test('hits, shadow mode, unlimited, prefixes, replaces and overrides', async () => {
  const now = 1_000_000_000_000;
  const l = limiter([{
    domain: 'd',
    descriptors: [
      { key: 'k', value: 'shadow', shadow_mode: true, rate_limit: { requests_per_unit: 1, unit: 'HOUR' } },
      { key: 'k', value: 'free', rate_limit: { unlimited: true } },
      { key: 'k', value: 'pre*', rate_limit: { requests_per_unit: 1, unit: 'HOUR' } },
      { key: 'k', value: 'exact', rate_limit: { requests_per_unit: 5, unit: 'HOUR', name: 'general' } },
      { key: 'k2', value: 'vip', rate_limit: { requests_per_unit: 100, unit: 'HOUR', replaces: [{ name: 'general' }] } },
    ],
  }], () => now);
  // Hits count several at once.
  const big = await l.shouldRateLimit({ domain: 'd', descriptors: [d('k', 'exact')], hitsAddend: 6 });
  assert.equal(big.overallCode, 'OVER_LIMIT');
  // Shadow mode reports OK however far over.
  for (let i = 0; i < 3; i++) assert.equal((await l.shouldRateLimit({ domain: 'd', descriptors: [d('k', 'shadow')] })).overallCode, 'OK');
  for (let i = 0; i < 3; i++) assert.equal((await l.shouldRateLimit({ domain: 'd', descriptors: [d('k', 'free')] })).overallCode, 'OK');
  assert.equal((await l.shouldRateLimit({ domain: 'd', descriptors: [d('k', 'prefix-1')] })).overallCode, 'OK');
  assert.equal((await l.shouldRateLimit({ domain: 'd', descriptors: [d('k', 'prefix-1')] })).overallCode, 'OVER_LIMIT');
  // The vip limit replaces the general one when both apply.
  const both = await l.shouldRateLimit({ domain: 'd', descriptors: [d('k', 'exact'), d('k2', 'vip')] });
  assert.equal(both.overallCode, 'OK');
  assert.deepEqual(both.statuses[0], { code: 'OK' });
  // A limit sent with the descriptor replaces the configured one.
  const o = await l.shouldRateLimit({ domain: 'd', descriptors: [{ ...d('k', 'exact'), limit: { requestsPerUnit: 1000, unit: 'SECOND' } }] });
  assert.equal(o.overallCode, 'OK');
  assert.equal(o.statuses[0]!.currentLimit!.requestsPerUnit, 1000);
});

test('bad configuration is reported with its place', () => {
  const { problems } = compileConfigs([
    { value: { descriptors: [] }, file: 'a.yaml', document: 0 },
    { value: { domain: 'd', descriptors: [{ value: 'x' }, { key: 'k', rate_limit: { requests_per_unit: 1, unit: 'FORTNIGHT' } }] }, file: 'b.yaml', document: 1 },
  ]);
  assert.deepEqual(problems.map((p) => `${p.place.file}#${p.place.document} ${p.place.field}`), ['a.yaml#0 domain', 'b.yaml#1 descriptors[0].key', 'b.yaml#1 descriptors[1].rate_limit.unit']);
});

const dir = corpusSuiteDir('ratelimit');

test('the configurations Envoy Gateway policies produce load', { skip: dir ? false : corpusSkipReason }, () => {
  let n = 0;
  for (const f of readdirSync(dir!).filter((x) => x.endsWith('.expected.json'))) {
    const { docs, problems } = domainDocuments(readFileSync(join(dir!, f), 'utf8'), f);
    assert.deepEqual(problems, []);
    const c = compileConfigs(docs);
    assert.deepEqual(c.problems, [], f);
    n += c.config.domains.size;
  }
  assert.ok(n > 0);
});
