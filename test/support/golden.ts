// Comparison of golden outputs, as ../shared/golden/README.md defines it: values null, false, 0,
// "", [] and {} are dropped, lastTransitionTime and observedGeneration are dropped, condition
// messages are dropped and conditions are sorted by type; the rest must be equal, lists in order.

const isCondition = (o: unknown): o is Record<string, unknown> =>
  !!o && typeof o === 'object' && !Array.isArray(o) && 'type' in o && 'status' in o;

export function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    let out = v.map(normalize).filter((x) => x !== undefined);
    if (out.length && out.every(isCondition)) out = [...out].sort((a: any, b: any) => String(a.type).localeCompare(String(b.type)));
    return out.length ? out : undefined;
  }
  if (v && typeof v === 'object') {
    const cond = isCondition(v);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      if (k === 'lastTransitionTime' || k === 'observedGeneration' || (cond && k === 'message')) continue;
      const n = normalize((v as Record<string, unknown>)[k]);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (v === null || v === false || v === 0 || v === '') return undefined;
  return v;
}

/** The first path where two normalised values differ, or undefined when they are equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b)) return path || '(root)';
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    for (let i = 0; i < Math.max(a.length, bb.length); i++) {
      if (i >= a.length || i >= bb.length) return `${path}[${i}]`;
      const d = firstDifference(a[i], bb[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && typeof a === 'object') {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ao), ...Object.keys(bo)])) {
      if (!(k in ao) || !(k in bo)) return `${path}.${k}`;
      const d = firstDifference(ao[k], bo[k], `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : path || '(root)';
}
