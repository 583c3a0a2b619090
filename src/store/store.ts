// The keyed store the pipeline's stages talk through (DESIGN: "publish the latest value per key,
// subscribers get coalesced updates"). It lives in its own folder because every stage uses it:
// the provider publishes resources, the translators publish IR and xDS per IR key, the infra
// manager and the admin server subscribe.
//
// A subscriber never sees a stale value or a queue of intermediate ones: while it is busy with
// one batch (its handler may be async), further changes accumulate, a key keeping only its
// latest value, and arrive as the next batch. A value equal to the current one is not a change.

/** The change of one key: its new value, or `undefined` when the key was deleted. */
export type Changes<T> = ReadonlyMap<string, T | undefined>;

export type Handler<T> = (changes: Changes<T>) => void | Promise<void>;

export interface StoreOptions<T> {
  /** Whether two values are the same (no update is published). Default: identity. */
  equals?: (a: T, b: T) => boolean;
  /** Where a handler's error goes (it does not stop the subscription). Default: console.error. */
  onError?: (err: unknown, name: string) => void;
  /** The store's name, for error messages. */
  name?: string;
}

interface Subscriber<T> {
  handler: Handler<T>;
  pending: Map<string, T | undefined>;
  running: boolean;
  scheduled: boolean;
  closed: boolean;
}

export class KeyedStore<T> {
  private readonly values = new Map<string, T>();
  private readonly subscribers = new Set<Subscriber<T>>();
  private readonly equals: (a: T, b: T) => boolean;
  private readonly onError: (err: unknown, name: string) => void;
  readonly name: string;
  /** Resolvers of `idle()` calls, settled when no subscriber has work left. */
  private idleWaiters: Array<() => void> = [];

  constructor(options: StoreOptions<T> = {}) {
    this.equals = options.equals ?? Object.is;
    this.name = options.name ?? 'store';
    this.onError = options.onError ?? ((err, name) => console.error(`egts: ${name} subscriber failed:`, err));
  }

  get(key: string): T | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  keys(): IterableIterator<string> {
    return this.values.keys();
  }

  entries(): IterableIterator<[string, T]> {
    return this.values.entries();
  }

  get size(): number {
    return this.values.size;
  }

  /** Publishes a value; returns whether it changed anything. */
  set(key: string, value: T): boolean {
    const old = this.values.get(key);
    if (old !== undefined && this.equals(old, value)) return false;
    this.values.set(key, value);
    this.notify(key, value);
    return true;
  }

  /** Removes a key; returns whether it was there. */
  delete(key: string): boolean {
    if (!this.values.delete(key)) return false;
    this.notify(key, undefined);
    return true;
  }

  /**
   * Makes the store hold exactly `next`: keys not in it are deleted, the others set. Subscribers
   * see the whole replacement in one batch (no intermediate state where half of it applied).
   */
  replace(next: ReadonlyMap<string, T>): void {
    for (const key of [...this.values.keys()]) if (!next.has(key)) this.delete(key);
    for (const [key, value] of next) this.set(key, value);
  }

  /**
   * Calls `handler` with batches of changes, the first holding every current key (unless
   * `replay` is false). Returns the function that ends the subscription.
   */
  subscribe(handler: Handler<T>, options: { replay?: boolean } = {}): () => void {
    const sub: Subscriber<T> = { handler, pending: new Map(), running: false, scheduled: false, closed: false };
    this.subscribers.add(sub);
    if (options.replay !== false && this.values.size) {
      for (const [k, v] of this.values) sub.pending.set(k, v);
      this.schedule(sub);
    }
    return () => {
      sub.closed = true;
      sub.pending.clear();
      this.subscribers.delete(sub);
      this.settleIdle();
    };
  }

  /** Resolves once every subscriber has handled every change made so far (and since). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    for (const s of this.subscribers) if (s.running || s.scheduled || s.pending.size) return false;
    return true;
  }

  private settleIdle(): void {
    if (!this.idleWaiters.length || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private notify(key: string, value: T | undefined): void {
    for (const sub of this.subscribers) {
      sub.pending.set(key, value);
      this.schedule(sub);
    }
  }

  /** Delivery waits for the current synchronous work to finish, so that a burst becomes one batch. */
  private schedule(sub: Subscriber<T>): void {
    if (sub.scheduled || sub.running) return;
    sub.scheduled = true;
    queueMicrotask(() => {
      sub.scheduled = false;
      void this.deliver(sub);
    });
  }

  private async deliver(sub: Subscriber<T>): Promise<void> {
    while (!sub.closed && sub.pending.size) {
      const batch = sub.pending;
      sub.pending = new Map();
      sub.running = true;
      try {
        await sub.handler(batch);
      } catch (err) {
        this.onError(err, this.name);
      } finally {
        sub.running = false;
      }
    }
    this.settleIdle();
  }
}
