// Counters in Redis, shared by every rate limit service process that uses the same Redis: each
// increment is INCRBY followed by EXPIRE (the window's remaining time), pipelined per request,
// the way Envoy's reference service keeps them. The client reconnects by itself; a call while
// Redis is unreachable fails, and the proxy's failure mode decides.
import { Redis } from 'ioredis';
import type { CounterStore, Increment } from './store.js';

export class RedisStore implements CounterStore {
  private readonly client: Redis;

  constructor(url: string) {
    // Commands fail fast rather than queueing while Redis is away: a rate limit answer that
    // comes late is no answer.
    this.client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    this.client.on('error', () => { /* reported through failed calls */ });
  }

  async increment(items: Increment[]): Promise<number[]> {
    const p = this.client.pipeline();
    for (const it of items) {
      p.incrby(it.key, it.hits);
      p.expire(it.key, it.ttlSeconds);
    }
    const res = await p.exec();
    if (!res) throw new Error('redis pipeline returned nothing');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const [err, v] = res[i * 2]!;
      if (err) throw err;
      out.push(Number(v));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
