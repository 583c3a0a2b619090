// The metadata an API server keeps for the objects it stores, kept here for providers that read
// objects from somewhere without one (files): a uid, the creation time (first seen; it decides
// conflicts, oldest wins, as on Kubernetes), a generation bumped on every change of the spec
// (status conditions carry it as observedGeneration) and a resourceVersion bumped on any change.
// An object that keeps its content keeps its metadata and the very same object value, so that
// later stages can tell "unchanged" by identity.
import { createHash, randomUUID } from 'node:crypto';
import type { AnyObject } from './object.js';

interface Entry {
  /** The object as the provider gave it last time (identity tells whether it changed). */
  source: AnyObject;
  /** The object handed out, metadata filled in. */
  stored: AnyObject;
  specHash: string;
  metaHash: string;
}

/** Everything but metadata and status: what `generation` counts changes of. */
function specHash(o: AnyObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return createHash('sha1').update(stableJSON(rest)).digest('base64url');
}

function metaHash(o: AnyObject): string {
  const { labels, annotations } = o.metadata;
  return createHash('sha1').update(stableJSON({ labels, annotations })).digest('base64url');
}

/** JSON with object keys sorted, so that reordering fields in a file is not a change. */
export function stableJSON(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJSON).join(',')}]`;
  const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJSON((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

export class ObjectBook {
  private readonly entries = new Map<string, Entry>();
  private resourceVersion = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  /**
   * Records the current set of objects (id → object) and returns them with metadata filled in.
   * Ids missing from `current` are forgotten: a re-created object is a new object.
   */
  update(current: ReadonlyMap<string, AnyObject>): Map<string, AnyObject> {
    const out = new Map<string, AnyObject>();
    for (const [id, source] of current) {
      const entry = this.entries.get(id);
      if (entry && entry.source === source) {
        out.set(id, entry.stored);
        continue;
      }
      const spec = specHash(source);
      const meta = metaHash(source);
      if (entry && entry.specHash === spec && entry.metaHash === meta) {
        entry.source = source;
        out.set(id, entry.stored);
        continue;
      }
      const md = source.metadata;
      const previous = entry?.stored.metadata;
      const generation = previous ? (entry!.specHash === spec ? previous.generation! : previous.generation! + 1) : 1;
      const stored: AnyObject = {
        ...source,
        metadata: {
          ...md,
          uid: md.uid ?? previous?.uid ?? randomUUID(),
          creationTimestamp: md.creationTimestamp ?? previous?.creationTimestamp ?? this.now().toISOString().replace(/\.\d+Z$/, 'Z'),
          generation,
          resourceVersion: String(++this.resourceVersion),
        },
      };
      this.entries.set(id, { source, stored, specHash: spec, metaHash: meta });
      out.set(id, stored);
    }
    for (const id of [...this.entries.keys()]) if (!current.has(id)) this.entries.delete(id);
    return out;
  }
}
