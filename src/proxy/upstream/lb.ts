// Load balancing over a cluster's hosts as Envoy does it: choose a priority by health
// (overprovisioning factor 1.4, panic threshold), then, with locality weighting, a locality by
// weight x availability, then a host with the cluster's policy: round robin, least request,
// random, ring hash or Maglev. Host lists and hash tables are rebuilt when membership or health
// changes, never per request.
import { hashString } from './hash.js';
import type { Host } from './host.js';

export type LbPolicyKind = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV';

export interface LbSettings {
  kind: LbPolicyKind;
  localityWeighted: boolean;
  /** Percent; below it the priority is in panic and all hosts are used. */
  panicThreshold: number;
  choiceCount: number;
  activeRequestBias: number;
  ringMin: number;
  ringMax: number;
  maglevTableSize: number;
}

export interface LbContext {
  /** Hash from the route's hash policies, for ring hash and Maglev. */
  hash: number | undefined;
  /** Hosts to avoid (previous attempts), when the retry policy says so. */
  avoid: Host[] | undefined;
  maxAttempts: number;
}

const OVERPROVISIONING = 1.4;

/** One priority level's hosts, grouped for picking. */
class PriorityLevel {
  healthy: Host[] = [];
  degraded: Host[] = [];
  /** Health percentage after overprovisioning, capped at 100. */
  health = 0;
  localities: { hosts: Host[]; healthy: Host[]; weight: number; current: number; picker: Picker }[] = [];
  allPicker: Picker;
  healthyPicker: Picker;
  constructor(readonly hosts: Host[], private readonly settings: LbSettings) {
    this.allPicker = makePicker(settings, hosts);
    this.healthyPicker = this.allPicker;
    this.refresh();
  }

  refresh(): void {
    this.healthy = this.hosts.filter((h) => h.healthy && !h.degraded);
    this.degraded = this.hosts.filter((h) => h.degraded);
    this.health = this.hosts.length ? Math.min(100, (OVERPROVISIONING * 100 * this.healthy.length) / this.hosts.length) : 0;
    this.healthyPicker = this.healthy.length === this.hosts.length ? this.allPicker : makePicker(this.settings, this.healthy);
    if (this.settings.localityWeighted) {
      const byKey = new Map<string, Host[]>();
      for (const h of this.hosts) {
        let l = byKey.get(h.locality.key);
        if (!l) byKey.set(h.locality.key, (l = []));
        l.push(h);
      }
      this.localities = [...byKey.values()].map((hosts) => {
        const healthy = hosts.filter((h) => h.healthy && !h.degraded);
        const availability = Math.min(1, (OVERPROVISIONING * healthy.length) / hosts.length);
        return { hosts, healthy, weight: hosts[0]!.locality.weight * availability, current: 0, picker: makePicker(this.settings, healthy) };
      }).filter((l) => l.weight > 0);
    }
  }

  /** Smooth weighted round robin over localities (deterministic, exact proportions). */
  pickLocality(): PriorityLevel['localities'][number] | undefined {
    let total = 0;
    let best: PriorityLevel['localities'][number] | undefined;
    for (const l of this.localities) {
      l.current += l.weight;
      total += l.weight;
      if (!best || l.current > best.current) best = l;
    }
    if (best) best.current -= total;
    return best;
  }
}

export class LoadBalancer {
  private levels: PriorityLevel[] = [];
  /** Cumulative per-priority load (percent) used to pick a level. */
  private loads: number[] = [];
  private panic: boolean[] = [];

  constructor(readonly settings: LbSettings) {}

  /** New membership: hosts grouped by priority (index = priority). */
  setHosts(byPriority: Host[][]): void {
    this.levels = byPriority.map((hosts) => new PriorityLevel(hosts, this.settings));
    this.computeLoads();
  }

  /** Health changed (health checks, outlier detection): recompute healthy lists and loads. */
  refreshHealth(): void {
    for (const l of this.levels) l.refresh();
    this.computeLoads();
  }

  get hostCount(): number {
    let n = 0;
    for (const l of this.levels) n += l.hosts.length;
    return n;
  }

  private computeLoads(): void {
    const health = this.levels.map((l) => l.health);
    const total = health.reduce((a, b) => a + b, 0);
    const loads: number[] = [];
    if (total >= 100) {
      let remaining = 100;
      for (const h of health) { const take = Math.min(remaining, h); loads.push(take); remaining -= take; }
    } else if (total > 0) {
      for (const h of health) loads.push((h * 100) / total);
    } else {
      // Nothing healthy anywhere: panic on the first non-empty priority.
      const first = this.levels.findIndex((l) => l.hosts.length > 0);
      for (let i = 0; i < this.levels.length; i++) loads.push(i === first ? 100 : 0);
    }
    let acc = 0;
    this.loads = loads.map((l) => (acc += l));
    // Envoy enters panic when the normalised total health is under the threshold.
    const inPanic = Math.min(100, total) < this.settings.panicThreshold;
    this.panic = this.levels.map(() => inPanic);
  }

  choose(ctx: LbContext): Host | undefined {
    if (!this.levels.length) return undefined;
    let level = 0;
    if (this.levels.length > 1) {
      const r = ctx.hash !== undefined ? ctx.hash % 100 : Math.random() * 100;
      while (level < this.loads.length - 1 && r >= this.loads[level]!) level++;
    }
    const pl = this.levels[level]!;
    const attempts = ctx.avoid?.length ? Math.max(1, ctx.maxAttempts) : 1;
    let host: Host | undefined;
    for (let i = 0; i < attempts; i++) {
      host = this.pickIn(pl, this.panic[level]!, ctx.hash === undefined ? undefined : ctx.hash + i);
      if (!host || !ctx.avoid || !ctx.avoid.includes(host)) return host;
    }
    return host;
  }

  private pickIn(pl: PriorityLevel, panic: boolean, hash: number | undefined): Host | undefined {
    if (panic || !pl.healthy.length) {
      if (pl.degraded.length && !panic) return makePicker(this.settings, pl.degraded).pick(hash);
      return pl.allPicker.pick(hash);
    }
    if (this.settings.localityWeighted && pl.localities.length && this.settings.kind !== 'RING_HASH' && this.settings.kind !== 'MAGLEV') {
      const loc = pl.pickLocality();
      if (loc && loc.healthy.length) return loc.picker.pick(hash);
    }
    return pl.healthyPicker.pick(hash);
  }
}

interface Picker {
  pick(hash: number | undefined): Host | undefined;
}

function makePicker(s: LbSettings, hosts: Host[]): Picker {
  if (!hosts.length) return { pick: () => undefined };
  if (hosts.length === 1) { const h = hosts[0]!; return { pick: () => h }; }
  const weighted = hosts.some((h) => h.weight !== hosts[0]!.weight);
  switch (s.kind) {
    case 'ROUND_ROBIN': return weighted ? new SmoothWeighted(hosts) : new RoundRobin(hosts);
    case 'LEAST_REQUEST': return new LeastRequest(hosts, s.choiceCount, weighted, s.activeRequestBias);
    case 'RANDOM': return new RandomPicker(hosts, weighted);
    case 'RING_HASH': return new RingHash(hosts, s.ringMin, s.ringMax);
    case 'MAGLEV': return new Maglev(hosts, s.maglevTableSize, s.localityWeighted);
  }
}

class RoundRobin implements Picker {
  private next = Math.floor(Math.random() * 1024);
  constructor(private readonly hosts: Host[]) {}
  pick(): Host {
    const h = this.hosts[this.next % this.hosts.length]!;
    this.next = (this.next + 1) % 0x40000000;
    return h;
  }
}

class SmoothWeighted implements Picker {
  private readonly current: number[];
  private readonly total: number;
  constructor(private readonly hosts: Host[]) {
    this.current = hosts.map(() => 0);
    this.total = hosts.reduce((a, h) => a + h.weight, 0);
  }
  pick(): Host {
    let best = 0;
    for (let i = 0; i < this.hosts.length; i++) {
      this.current[i]! += this.hosts[i]!.weight;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return this.hosts[best]!;
  }
}

class RandomPicker implements Picker {
  private readonly cumulative: number[];
  constructor(private readonly hosts: Host[], weighted: boolean) {
    let acc = 0;
    this.cumulative = weighted ? hosts.map((h) => (acc += h.weight)) : [];
  }
  pick(): Host {
    if (!this.cumulative.length) return this.hosts[Math.floor(Math.random() * this.hosts.length)]!;
    const r = Math.random() * this.cumulative[this.cumulative.length - 1]!;
    let i = 0;
    while (this.cumulative[i]! <= r) i++;
    return this.hosts[i]!;
  }
}

/** Power of two choices on active requests (scaled by weight when weights differ). */
class LeastRequest implements Picker {
  constructor(private readonly hosts: Host[], private readonly choices: number, private readonly weighted: boolean, private readonly bias: number) {}
  pick(): Host {
    const n = this.hosts.length;
    let best = this.hosts[Math.floor(Math.random() * n)]!;
    for (let i = 1; i < this.choices; i++) {
      const c = this.hosts[Math.floor(Math.random() * n)]!;
      if (this.score(c) < this.score(best)) best = c;
    }
    return best;
  }
  private score(h: Host): number {
    if (!this.weighted) return h.activeRequests;
    return Math.pow(h.activeRequests + 1, this.bias) / h.weight;
  }
}

/** Ketama-style ring: each host gets entries in proportion to its weight. */
class RingHash implements Picker {
  private readonly ring: Float64Array;
  private readonly owners: Host[];
  constructor(hosts: Host[], min: number, max: number) {
    const totalWeight = hosts.reduce((a, h) => a + h.weight, 0);
    const minNorm = Math.min(...hosts.map((h) => h.weight / totalWeight));
    const scale = Math.min(Math.ceil(minNorm * min) / minNorm, max);
    const entries: { hash: number; host: Host }[] = [];
    for (const h of hosts) {
      const count = Math.max(1, Math.round((h.weight / totalWeight) * scale));
      const key = h.key;
      for (let i = 0; i < count; i++) entries.push({ hash: hashString(`${key}_${i}`), host: h });
    }
    entries.sort((a, b) => a.hash - b.hash);
    this.ring = Float64Array.from(entries.map((e) => e.hash));
    this.owners = entries.map((e) => e.host);
  }
  pick(hash: number | undefined): Host {
    const h = hash ?? Math.floor(Math.random() * 0x20000000000000);
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.ring.length ? 0 : lo]!;
  }
}

/** Maglev lookup table (Eisenbud et al.), weighted by endpoint weight. */
class Maglev implements Picker {
  private readonly table: Host[];
  constructor(hosts: Host[], size: number, localityWeighted: boolean) {
    const n = hosts.length;
    const weights = hosts.map((h) => h.weight * (localityWeighted ? Math.max(1, h.locality.weight) : 1));
    const maxW = Math.max(...weights);
    const offset = hosts.map((h) => hashString(h.key, 1) % size);
    const skip = hosts.map((h) => (hashString(h.key, 2) % (size - 1)) + 1);
    const next = new Array<number>(n).fill(0);
    const target = new Array<number>(n).fill(0);
    const table = new Array<Host | undefined>(size);
    let filled = 0;
    while (filled < size) {
      for (let i = 0; i < n && filled < size; i++) {
        // Weights are honoured by letting a host place an entry only each time its
        // accumulated weight reaches the largest weight.
        target[i]! += weights[i]!;
        if (target[i]! < maxW) continue;
        target[i]! -= maxW;
        let c = (offset[i]! + next[i]! * skip[i]!) % size;
        while (table[c] !== undefined) { next[i]!++; c = (offset[i]! + next[i]! * skip[i]!) % size; }
        table[c] = hosts[i];
        next[i]!++;
        filled++;
      }
    }
    this.table = table as Host[];
  }
  pick(hash: number | undefined): Host {
    const h = hash ?? Math.floor(Math.random() * 0x20000000000000);
    return this.table[h % this.table.length]!;
  }
}
