// Global rate limit descriptors: the route actions and the rate limit service's configuration
// come from one walk over the rules, so every chain of descriptor entries a route can send has
// a limit under the same keys in its domain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HTTPListener } from '../../src/ir/xds.js';
import { buildRateLimitServiceConfigs, routeRateLimits } from '../../src/xds/ratelimit/global.js';

const listener = (name: string, routes: HTTPListener['routes']): HTTPListener => ({ name, address: '0.0.0.0', port: 10080, hostnames: ['*'], routes } as HTTPListener);

const sharedRule = { name: 'ns/policy/rule/0', shared: true, headerMatches: [{ name: 'x-user', exact: 'a' }], limit: { requests: 5, unit: 'Second' } };
const ownRule = { name: 'ns/policy/rule/1', cidrMatch: { cidr: '10.0.0.0/8', maskLen: 8, isIPv6: false, distinct: true }, limit: { requests: 1, unit: 'Minute' } };
const l1 = listener('l1', [
  { name: 'r1', hostname: '*', destination: { name: 'd' }, traffic: { rateLimit: { global: { rules: [sharedRule, ownRule] } } } },
  { name: 'r2', hostname: '*', destination: { name: 'd' }, traffic: { rateLimit: { global: { rules: [sharedRule] } } } },
] as HTTPListener['routes']);
const l2 = listener('l2', [{ name: 'r1', hostname: '*', destination: { name: 'd' }, traffic: { rateLimit: { global: { rules: [sharedRule] } } } }] as HTTPListener['routes']);

/** The descriptor chains (key=value lists) a service configuration limits. */
function chains(descs: any[], prefix: string[] = []): string[] {
  return descs.flatMap((d) => {
    const here = [...prefix, `${d.key}=${d.value ?? '*'}`];
    return d.rate_limit ? [here.join(',')] : chains(d.descriptors ?? [], here);
  });
}

test('each route action list matches a limited chain in its domain', () => {
  const configs = buildRateLimitServiceConfigs({ http: [l1, l2] });
  assert.deepEqual(configs.map((c) => c.domain), ['l1', 'ns/policy']);
  const byDomain = new Map(configs.map((c) => [c.domain, chains(c.descriptors)]));
  for (const l of [l1, l2]) {
    for (const r of l.routes!) {
      for (const { domain, rateLimits } of routeRateLimits(l, r)) {
        for (const rl of rateLimits) {
          const chain = rl.actions.map((a: any) => {
            const x = a.genericKey ?? a.headerValueMatch ?? a.remoteAddressMatch ?? a.requestHeaders;
            return `${x.descriptorKey}=${a.remoteAddressMatch?.descriptorKey === 'remote_address' ? '*' : x.descriptorValue ?? '*'}`;
          }).join(',');
          assert.ok(byDomain.get(domain)!.includes(chain), `${l.name}/${r.name}: ${chain} not limited in ${domain}`);
        }
      }
    }
  }
});

test('a shared rule is described once, whichever listeners and routes use it', () => {
  const shared = buildRateLimitServiceConfigs({ http: [l1, l2] }).find((c) => c.domain === 'ns/policy')!;
  assert.deepEqual(shared.descriptors.map((d) => d.key), ['ns/policy/rule/0']);
});

test('distinct client addresses get their own buckets under the masked range', () => {
  const own = buildRateLimitServiceConfigs({ http: [l1] }).find((c) => c.domain === 'l1')!;
  assert.deepEqual(own.descriptors[0], {
    key: 'r1', value: 'r1',
    descriptors: [{ key: 'masked_remote_address', value: '10.0.0.0/8', descriptors: [{ key: 'remote_address', rate_limit: { requests_per_unit: 1, unit: 'MINUTE' } }] }],
  });
});
