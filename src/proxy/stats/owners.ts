// Who keeps a stat alive. Envoy holds a stat for as long as some scope that uses it lives (a
// listener, its filter chains, a cluster) and frees it when the last such scope goes: a cluster or
// listener removed by xDS takes its stats with it once it has drained, while a changed one (whose
// replacement uses the same names) goes on counting. Here the scope is the compiled configuration
// object: a stat belongs to the objects it was created or looked up for, and is dropped when the
// last of them has been garbage collected (nothing serves with it any more, draining connections
// included). So a proxy whose configuration churns keeps only the stats of what it runs.

/** Reference counts of named stats, with the objects that hold them. */
export class StatOwners {
  /** Owners per key; `Infinity` pins a stat that is not owned by configuration (process-wide ones). */
  private readonly counts = new Map<string, number>();
  private readonly registry = new FinalizationRegistry<readonly string[]>((keys) => this.release(keys));

  /** @param drop forgets the stat of a key no owner holds any more */
  constructor(private readonly drop: (key: string) => void) {}

  /** One more owner for `key` (taken at once, so that a failed compilation can give it back). */
  hold(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Keeps `key` for the life of the process (a stat created outside any configuration). */
  pin(key: string): void {
    if (!this.counts.has(key)) this.counts.set(key, Infinity);
  }

  /** Gives the held `keys` back when `owner` is garbage collected. */
  ownedBy(owner: object, keys: readonly string[]): void {
    if (keys.length) this.registry.register(owner, keys);
  }

  /** Gives `keys` back now; a key no one holds any more is dropped. */
  release(keys: Iterable<string>): void {
    for (const key of keys) {
      const n = (this.counts.get(key) ?? 1) - 1;
      if (n > 0) { this.counts.set(key, n); continue; }
      this.counts.delete(key);
      this.drop(key);
    }
  }

  /** How many stats are tracked (pinned ones included): what a churn test watches. */
  get size(): number {
    return this.counts.size;
  }
}
