// Where the rate limit service keeps its counters: fixed windows, one counter per descriptor
// (with its values) and window, incremented by each request's hits and forgotten when the window
// is over. In memory (one service process), or in Redis so that several service processes share
// them, as Envoy's reference service does (INCRBY then EXPIRE, pipelined).

export interface Increment {
  key: string;
  hits: number;
  /** Seconds until the window ends: the counter's lifetime. */
  ttlSeconds: number;
}

export interface CounterStore {
  /** Adds the hits; resolves with each counter's value after the increment. */
  increment(items: Increment[]): Promise<number[]>;
  close(): Promise<void>;
}

export class MemoryStore implements CounterStore {
  private readonly counters = new Map<string, { value: number; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  increment(items: Increment[]): Promise<number[]> {
    const now = Date.now();
    return Promise.resolve(items.map((it) => {
      let c = this.counters.get(it.key);
      if (!c || c.expiresAt <= now) this.counters.set(it.key, (c = { value: 0, expiresAt: now + it.ttlSeconds * 1000 }));
      c.value += it.hits;
      return c.value;
    }));
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, c] of this.counters) if (c.expiresAt <= now) this.counters.delete(k);
  }

  get size(): number { return this.counters.size; }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.counters.clear();
    return Promise.resolve();
  }
}
