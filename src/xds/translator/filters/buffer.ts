// Request buffering (BackendTrafficPolicy requestBuffer): the buffer filter holds the whole
// request body up to the limit before it goes upstream. One filter per distinct limit, off by
// default; each route turns buffering on with its limit.
import type { HTTPRoute } from '../../../ir/xds.js';
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.buffer';

const multipliers: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes quantity of bytes ("4Mi", "512k", "1024") as a number, or undefined. */
export function quantityBytes(q: string | number | undefined): number | undefined {
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q?.trim() ?? '');
  if (!m) return undefined;
  return Math.round(Number(m[1]) * multipliers[m[2] ?? '']!);
}

function limitOf(r: HTTPRoute): number | undefined {
  return quantityBytes(r.traffic?.requestBuffer?.limit);
}

export const requestBuffer: HTTPFeature = {
  filters(l) {
    const seen = new Set<number>();
    const out: Msg[] = [];
    for (const r of l.routes ?? []) {
      const n = limitOf(r);
      if (n === undefined || seen.has(n)) continue;
      seen.add(n);
      out.push({ name: filterType, disabled: true, typedConfig: typed('envoy.extensions.filters.http.buffer.v3.Buffer', { maxRequestBytes: n }) });
    }
    return out;
  },
  perRoute(r) {
    const n = limitOf(r);
    if (n === undefined) return undefined;
    return { [filterType]: typed('envoy.extensions.filters.http.buffer.v3.BufferPerRoute', { buffer: { maxRequestBytes: n } }) };
  },
};
