// The metadata an API server keeps for the objects it stores, kept here for providers that read
// objects from somewhere without one (files): a uid, the creation time (first seen; it decides
// conflicts, oldest wins, as on Kubernetes), a generation bumped on every change of the spec
// (status conditions carry it as observedGeneration) and a resourceVersion bumped on any change.
// An object that keeps its content keeps its metadata and the very same object value, so that
// later stages can tell "unchanged" by identity.
import { randomUUID } from 'node:crypto';
import type { AnyObject } from './object.js';

interface Entry {
  /** The object as the provider gave it last time (identity tells whether it changed). */
  source: AnyObject;
  /** The object handed out, metadata filled in. */
  stored: AnyObject;
  spec: string;
  meta: string;
}

/**
 * Everything but metadata and status, serialised: what `generation` counts changes of. Plain
 * JSON (native, fast): objects come from the same file text, so their key order is stable, and
 * a reordering of keys in the file counts as a change, which does no harm.
 */
function specText(o: AnyObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

function metaText(o: AnyObject): string {
  const { labels, annotations } = o.metadata;
  return JSON.stringify([labels, annotations]);
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
      const spec = specText(source);
      const meta = metaText(source);
      if (entry && entry.spec === spec && entry.meta === meta) {
        entry.source = source;
        out.set(id, entry.stored);
        continue;
      }
      const md = source.metadata;
      const previous = entry?.stored.metadata;
      const generation = previous ? (entry!.spec === spec ? previous.generation! : previous.generation! + 1) : 1;
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
      this.entries.set(id, { source, stored, spec, meta });
      out.set(id, stored);
    }
    for (const id of [...this.entries.keys()]) if (!current.has(id)) this.entries.delete(id);
    return out;
  }
}
