// Load balancer behaviour: weights are honoured (round robin, locality weights), consistent
// hashing moves few keys when a host goes, priorities fail over by health, panic mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthFlag, Host, type Locality } from '../../src/proxy/upstream/host.js';
import { LoadBalancer, type LbSettings } from '../../src/proxy/upstream/lb.js';
import { hashString } from '../../src/proxy/upstream/hash.js';

const settings = (kind: LbSettings['kind'], localityWeighted = false): LbSettings => ({
  kind, localityWeighted, panicThreshold: 50, choiceCount: 2, activeRequestBias: 1, ringMin: 1024, ringMax: 8 << 20, maglevTableSize: 65537,
});
const loc = (key: string, weight = 1): Locality => ({ region: key, zone: '', subZone: '', weight, key });
const host = (n: number, weight = 1, l = loc('l')) => new Host('10.0.0.' + n, 80, undefined, weight, 0, l, '', undefined);
const ctx = (hash?: number) => ({ hash, avoid: undefined, maxAttempts: 1 });

function counts(lb: LoadBalancer, n: number, hash?: (i: number) => number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) { const h = lb.choose(ctx(hash?.(i)))!.address; m.set(h, (m.get(h) ?? 0) + 1); }
  return m;
}

test('weighted round robin is exact over a cycle', () => {
  const lb = new LoadBalancer(settings('ROUND_ROBIN'));
  lb.setHosts([[host(1, 3), host(2, 1)]]);
  const c = counts(lb, 400);
  assert.equal(c.get('10.0.0.1'), 300);
  assert.equal(c.get('10.0.0.2'), 100);
});

test('locality weights split traffic (Envoy Gateway backendRef weights)', () => {
  const lb = new LoadBalancer(settings('LEAST_REQUEST', true));
  lb.setHosts([[host(1, 1, loc('a', 80)), host(2, 1, loc('b', 20))]]);
  const c = counts(lb, 1000);
  assert.equal(c.get('10.0.0.1'), 800);
});

for (const kind of ['RING_HASH', 'MAGLEV'] as const) {
  test(`${kind}: removing one of five hosts remaps mostly its own keys`, () => {
    const hosts = [1, 2, 3, 4, 5].map((n) => host(n));
    const lb = new LoadBalancer(settings(kind));
    lb.setHosts([hosts]);
    const before = Array.from({ length: 2000 }, (_, i) => lb.choose(ctx(hashString(`k${i}`)))!);
    lb.setHosts([hosts.slice(0, 4)]);
    let moved = 0;
    let movedElsewhere = 0;
    for (let i = 0; i < 2000; i++) {
      const after = lb.choose(ctx(hashString(`k${i}`)))!;
      if (after !== before[i]) { moved++; if (before[i] !== hosts[4]) movedElsewhere++; }
    }
    // A modulo scheme would move ~80% of the keys; consistent hashing about the removed fifth.
    assert.ok(moved > 250 && moved < 650, `moved ${moved}`);
    assert.ok(movedElsewhere < 300, `keys of remaining hosts moved: ${movedElsewhere}`);
  });
}

test('priorities: traffic moves to priority 1 as priority 0 loses health; panic uses all hosts', () => {
  const p0 = [host(1), host(2)];
  const p1 = [host(3)];
  const lb = new LoadBalancer(settings('ROUND_ROBIN'));
  lb.setHosts([p0, p1]);
  assert.equal(counts(lb, 100).get('10.0.0.3'), undefined);
  p0[0]!.healthFlags |= HealthFlag.ActiveHcFailed;
  lb.refreshHealth();
  // Priority 0 is 50% healthy x 1.4 = 70% of the load.
  const c = counts(lb, 10000);
  assert.ok(Math.abs((c.get('10.0.0.3') ?? 0) - 3000) < 300, JSON.stringify([...c]));
  assert.equal(c.get('10.0.0.1'), undefined);
  p0[1]!.healthFlags |= HealthFlag.ActiveHcFailed;
  p1[0]!.healthFlags |= HealthFlag.OutlierEjected;
  lb.refreshHealth();
  // Nothing healthy: panic routing over priority 0's hosts.
  assert.equal(counts(lb, 10).size > 0, true);
});
