// The decision of the rate limit service for one ShouldRateLimit request: each descriptor finds
// its limit in the domain's configuration (or carries its own override), limits replaced by
// another matched limit drop out, every remaining limited descriptor's fixed-window counter takes
// the request's hits, and a descriptor whose counter went past its limit is OVER_LIMIT (OK in
// shadow mode). The response says, per descriptor, the limit, what remains and when it resets.
import { findLimit, UNIT_SECONDS, type CompiledConfig, type Limit, type Unit } from './config.js';
import type { CounterStore } from './store.js';

export interface RateLimitRequest {
  domain?: string;
  descriptors?: { entries?: { key?: string; value?: string }[]; limit?: { requestsPerUnit?: number; unit?: string } }[];
  hitsAddend?: number;
}

export interface DescriptorStatus {
  code: 'OK' | 'OVER_LIMIT';
  currentLimit?: { requestsPerUnit: number; unit: Unit; name?: string };
  limitRemaining?: number;
  durationUntilReset?: string;
}

export interface RateLimitResponse {
  overallCode: 'OK' | 'OVER_LIMIT';
  statuses: DescriptorStatus[];
}

/** Counters per limit decision, for /metrics: by domain, ok or over limit. */
export interface LimiterStats {
  totalHits: number;
  overLimit: number;
  withinLimit: number;
  shadowMode: number;
}

export class RateLimiter {
  readonly stats: LimiterStats = { totalHits: 0, overLimit: 0, withinLimit: 0, shadowMode: 0 };

  constructor(private config: CompiledConfig, private readonly store: CounterStore, private readonly now: () => number = Date.now) {}

  setConfig(config: CompiledConfig): void {
    this.config = config;
  }

  async shouldRateLimit(req: RateLimitRequest): Promise<RateLimitResponse> {
    const domain = req.domain ?? '';
    const hits = Math.max(1, req.hitsAddend ?? 1);
    const nowMs = this.now();
    const nowS = Math.floor(nowMs / 1000);
    const descriptors = req.descriptors ?? [];
    const limits: (Limit | undefined)[] = descriptors.map((d) => {
      const entries = (d.entries ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' }));
      const o = d.limit;
      if (o && o.unit && UNIT_SECONDS[o.unit as Unit] !== undefined) {
        // A limit chosen by the proxy for this request (from metadata) replaces the configured one.
        return { requestsPerUnit: o.requestsPerUnit ?? 0, unit: o.unit as Unit, unlimited: false, name: '', replaces: [], shadowMode: false, id: `${domain}\0override\0${o.requestsPerUnit}/${o.unit}` };
      }
      return findLimit(this.config, domain, entries);
    });
    const replaced = new Set<string>();
    for (const l of limits) if (l) for (const n of l.replaces) replaced.add(n);
    const increments: { i: number; key: string; windowEnd: number }[] = [];
    limits.forEach((l, i) => {
      if (!l || l.unlimited || (l.name && replaced.has(l.name))) return;
      const unitS = UNIT_SECONDS[l.unit];
      const windowStart = nowS - (nowS % unitS);
      let key = `${domain}`;
      for (const e of descriptors[i]!.entries ?? []) key += `\0${e.key ?? ''}=${e.value ?? ''}`;
      increments.push({ i, key: `${key}\0${unitS}\0${windowStart}`, windowEnd: windowStart + unitS });
    });
    const values = increments.length
      ? await this.store.increment(increments.map((x) => ({ key: x.key, hits, ttlSeconds: Math.max(1, x.windowEnd - nowS) })))
      : [];
    const statuses: DescriptorStatus[] = limits.map(() => ({ code: 'OK' }));
    let over = false;
    increments.forEach((x, j) => {
      const l = limits[x.i]!;
      const after = values[j]!;
      const exceeded = after > l.requestsPerUnit;
      this.stats.totalHits += hits;
      const st: DescriptorStatus = {
        code: 'OK',
        currentLimit: { requestsPerUnit: l.requestsPerUnit, unit: l.unit, ...(l.name ? { name: l.name } : {}) },
        limitRemaining: Math.max(0, l.requestsPerUnit - after),
        durationUntilReset: `${Math.max(0, x.windowEnd - nowS)}s`,
      };
      if (exceeded) {
        this.stats.overLimit += hits;
        if (l.shadowMode) this.stats.shadowMode += hits;
        else { st.code = 'OVER_LIMIT'; over = true; }
      } else this.stats.withinLimit += hits;
      statuses[x.i] = st;
    });
    return { overallCode: over ? 'OVER_LIMIT' : 'OK', statuses };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
