// Token buckets of the local rate limiter, kept once per proxy as Envoy keeps them once per
// process for all its workers: here the primary process owns them and worker processes ask it
// (primary_calls.ts); in a single-process proxy the call is direct. A bucket starts full with
// max_tokens and gains tokens_per_fill at every fill_interval since it was created, never above
// max_tokens.
import { callPrimary, registerPrimaryService } from '../../../primary_calls.js';

export interface BucketSpec {
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
}

/** What a consumption left: whether it was allowed, and the bucket's state for x-ratelimit-*. */
export interface BucketState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the next fill. */
  resetSeconds: number;
}

class TokenBucket {
  private tokens: number;
  private lastFill: number;
  lastUsed: number;

  constructor(readonly spec: BucketSpec, now: number) {
    this.tokens = spec.maxTokens;
    this.lastFill = now;
    this.lastUsed = now;
  }

  private refill(now: number): void {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.spec;
    const fills = Math.floor((now - this.lastFill) / fillIntervalMs);
    if (fills <= 0) return;
    this.tokens = Math.min(maxTokens, this.tokens + fills * tokensPerFill);
    this.lastFill += fills * fillIntervalMs;
  }

  consume(hits: number, now: number): BucketState {
    this.refill(now);
    this.lastUsed = now;
    const allowed = hits <= this.tokens && this.spec.maxTokens > 0;
    if (allowed) this.tokens -= hits;
    return { allowed, limit: this.spec.maxTokens, remaining: Math.floor(this.tokens), resetSeconds: Math.max(0, Math.ceil((this.lastFill + this.spec.fillIntervalMs - now) / 1000)) };
  }

  /** A bucket that refilled to the top is no different from a new one: it may be forgotten. */
  idle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.spec.maxTokens;
  }
}

/** One consumption: a bucket by key (with its spec, which is part of its identity), and hits. */
export interface Consume {
  key: string;
  spec: BucketSpec;
  hits: number;
  /** Bound on the buckets of this group created for distinct values (0: not a dynamic bucket). */
  dynamicGroup?: string;
  maxDynamic?: number;
}

const buckets = new Map<string, TokenBucket>();
/** Dynamic buckets per group, oldest use first (Map order), for the max_dynamic_descriptors bound. */
const dynamicGroups = new Map<string, Map<string, true>>();
let sweeper: NodeJS.Timeout | undefined;

function bucketFor(c: Consume, now: number): TokenBucket {
  const id = `${c.key}|${c.spec.maxTokens}/${c.spec.tokensPerFill}/${c.spec.fillIntervalMs}`;
  let b = buckets.get(id);
  if (!b) {
    buckets.set(id, (b = new TokenBucket(c.spec, now)));
    sweeper ??= setInterval(sweep, 60_000).unref();
  }
  if (c.dynamicGroup) {
    let g = dynamicGroups.get(c.dynamicGroup);
    if (!g) dynamicGroups.set(c.dynamicGroup, (g = new Map()));
    g.delete(id);
    g.set(id, true);
    const max = c.maxDynamic ?? 20;
    while (g.size > max) {
      const oldest = g.keys().next().value as string;
      g.delete(oldest);
      buckets.delete(oldest);
    }
  }
  return b;
}

/**
 * Consumes from each bucket in turn and stops at the first that refuses (Envoy's order: the
 * caller sorts the matched descriptors, most restrictive first). Returns one state per bucket
 * tried.
 */
export function consumeNow(list: Consume[]): BucketState[] {
  const now = Date.now();
  const out: BucketState[] = [];
  for (const c of list) {
    const st = bucketFor(c, now).consume(c.hits, now);
    out.push(st);
    if (!st.allowed) break;
  }
  return out;
}

function sweep(): void {
  const now = Date.now();
  for (const [id, b] of buckets) {
    if (now - b.lastUsed > 60_000 && b.idle(now)) buckets.delete(id);
  }
  for (const [name, g] of dynamicGroups) {
    for (const id of g.keys()) if (!buckets.has(id)) g.delete(id);
    if (!g.size) dynamicGroups.delete(name);
  }
  if (!buckets.size && sweeper) { clearInterval(sweeper); sweeper = undefined; }
}

const SERVICE = 'local_ratelimit.consume';
registerPrimaryService(SERVICE, (payload) => consumeNow(payload as Consume[]));

/** Consumes in the process that owns the buckets: a value here, a promise in a worker. */
export function consume(list: Consume[]): BucketState[] | Promise<BucketState[]> {
  return callPrimary(SERVICE, list) as BucketState[] | Promise<BucketState[]>;
}

/** Buckets of one downstream connection (local_rate_limit_per_downstream_connection). */
const perConnection = new WeakMap<object, Map<string, TokenBucket>>();

export function localBuckets(connection: object, list: Consume[]): BucketState[] {
  let m = perConnection.get(connection);
  if (!m) perConnection.set(connection, (m = new Map()));
  const now = Date.now();
  const out: BucketState[] = [];
  for (const c of list) {
    let b = m.get(c.key);
    if (!b) m.set(c.key, (b = new TokenBucket(c.spec, now)));
    const st = b.consume(c.hits, now);
    out.push(st);
    if (!st.allowed) break;
  }
  return out;
}
