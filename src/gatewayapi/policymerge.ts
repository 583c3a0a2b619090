// Merging a route's policy onto the policy of its Gateway (or ListenerSet), as spec.mergeType
// asks: JSONMerge is RFC 7386 (objects merge, lists are replaced, null deletes); StrategicMerge
// also merges lists, the route's items first, then the parent's ones it does not repeat.

export type MergeType = 'StrategicMerge' | 'JSONMerge';

export function mergeSpecs(parent: any, patch: any, type: MergeType): any {
  return merge(parent, patch, type === 'StrategicMerge');
}

function isObject(v: unknown): v is Record<string, any> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function merge(base: any, patch: any, lists: boolean): any {
  if (isObject(patch)) {
    const out: Record<string, any> = isObject(base) ? { ...base } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = k in out ? merge(out[k], v, lists) : clone(v);
    }
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
