// The snapshot cache: the latest snapshot per IR key (the node's `cluster`), and the streams
// waiting on each key. Setting a snapshot wakes every stream of that key; a proxy that connects
// before its key has a snapshot simply waits for one.
import type { Snapshot } from './snapshot.js';

export type SnapshotListener = (snapshot: Snapshot) => void;

export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly listeners = new Map<string, Set<SnapshotListener>>();

  get(key: string): Snapshot | undefined {
    return this.snapshots.get(key);
  }

  keys(): string[] {
    return [...this.snapshots.keys()];
  }

  set(key: string, snapshot: Snapshot): void {
    this.snapshots.set(key, snapshot);
    for (const listener of this.listeners.get(key) ?? []) listener(snapshot);
  }

  /** Forgets a key: its proxies keep what they have, and get the next snapshot set for it. */
  delete(key: string): void {
    this.snapshots.delete(key);
  }

  /** Calls `listener` with each new snapshot of `key`; returns the function that stops it. */
  watch(key: string, listener: SnapshotListener): () => void {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }
}
