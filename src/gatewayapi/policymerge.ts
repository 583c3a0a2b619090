// Merging a route's policy onto the policy of its Gateway (or ListenerSet), as spec.mergeType
// asks: JSONMerge is RFC 7386 (objects merge, lists are replaced, null deletes); StrategicMerge
// also merges lists, the route's items first, then the parent's ones it does not repeat.

export type MergeType = 'StrategicMerge' | 'JSONMerge';

/** The parent's spec with the patch merged onto it (both are left as they are). */
export function mergeSpecs<T>(parent: T, patch: T, type: MergeType): T {
  return merge(parent, patch, type === 'StrategicMerge') as T;
}

/** Lists whose items are merged by a key rather than by whole value. */
const mergeKeys: Record<string, string> = { contextExtensions: 'name' };

type JSONObject = Record<string, unknown>;

function isObject(v: unknown): v is JSONObject {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function merge(base: unknown, patch: unknown, lists: boolean, field?: string): unknown {
  if (isObject(patch)) {
    const out: JSONObject = isObject(base) ? { ...base } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = k in out ? merge(out[k], v, lists, k) : clone(v);
    }
    return out;
  }
  const key = field !== undefined ? mergeKeys[field] : undefined;
  if (Array.isArray(patch) && lists && Array.isArray(base) && key) {
    const byKey = new Map(base.filter(isObject).map((b) => [b[key], b]));
    const out = patch.map((p) => (isObject(p) && byKey.has(p[key]) ? merge(byKey.get(p[key]), p, lists) : clone(p)));
    const taken = new Set(patch.filter(isObject).map((p) => p[key]));
    for (const b of base) if (!isObject(b) || !taken.has(b[key])) out.push(clone(b));
    return out;
  }
  if (Array.isArray(patch) && lists && Array.isArray(base)) {
    const out = patch.map(clone);
    const seen = new Set(out.map((x) => JSON.stringify(x)));
    for (const b of base) if (!seen.has(JSON.stringify(b))) out.push(clone(b));
    return out;
  }
  return clone(patch);
}

function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}
