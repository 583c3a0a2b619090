// The domains serve's rate limit service gets from several IR keys: a listener's own domain once,
// a shared policy's domain (built by every key its routes are in) once, each rule once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileConfigs, findLimit } from '../../src/ratelimit/config.js';
import { mergeDomains } from '../../src/serve/ratelimit-stage.js';
import type { RateLimitServiceConfig } from '../../src/xds/ratelimit/global.js';

const shared = (): RateLimitServiceConfig => ({
  name: 'default/policy', domain: 'default/policy',
  descriptors: [{ key: 'default/policy/rule/0', value: 'default/policy/rule/0', descriptors: [{ key: 'rule-0-match--1', value: 'rule-0-match--1', rate_limit: { requests_per_unit: 5, unit: 'MINUTE' } }] }],
});

test('domains of several IR keys merge: shared policy descriptors once, own domains kept apart', () => {
  const a: RateLimitServiceConfig = { name: 'default/a/http', domain: 'default/a/http', descriptors: [{ key: 'route-a', value: 'route-a', descriptors: [{ key: 'x', rate_limit: { requests_per_unit: 1, unit: 'HOUR' } }] }] };
  const b: RateLimitServiceConfig = { name: 'default/b/http', domain: 'default/b/http', descriptors: [{ key: 'route-b', value: 'route-b', descriptors: [{ key: 'x', rate_limit: { requests_per_unit: 2, unit: 'HOUR' } }] }] };
  const merged = mergeDomains([a, shared(), b, shared()]);
  assert.deepEqual(merged.map((d) => d.domain), ['default/a/http', 'default/policy', 'default/b/http']);
  assert.equal(merged[1]!.descriptors.length, 1);
  const { config, problems } = compileConfigs(merged.map((value) => ({ value })));
  assert.deepEqual(problems, []);
  assert.equal(findLimit(config, 'default/b/http', [{ key: 'route-b', value: 'route-b' }, { key: 'x', value: 'anything' }])?.requestsPerUnit, 2);
  assert.equal(findLimit(config, 'default/policy', [{ key: 'default/policy/rule/0', value: 'default/policy/rule/0' }, { key: 'rule-0-match--1', value: 'rule-0-match--1' }])?.requestsPerUnit, 5);
});
