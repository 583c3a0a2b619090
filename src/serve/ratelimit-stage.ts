// Global rate limiting in `egts serve`: the built-in rate limit service runs inside the control
// plane and reads its configuration straight from the xDS IR. Every IR change recomputes the
// domains (src/xds/ratelimit/global.ts, the same source the proxies' descriptors come from) and
// swaps them into the limiter; counters are keyed by domain and descriptor values, not by
// configuration generation, so descriptors an edit leaves alone keep counting.
//
// In process rather than a child: the limiter is a map increment per descriptor, the service a
// grpc-js server beside the xDS one, and a new configuration is a function call (no files, no
// restart, no window in which the service is missing). Proxies reach it over mTLS with the
// certificates serve already made for xDS, as Envoy Gateway's proxies reach envoy-ratelimit.
import { formatProblem } from '../api/place.js';
import type { Xds } from '../ir/xds.js';
import { compileConfigs } from '../ratelimit/config.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { RateLimitServer, type ServiceTls } from '../ratelimit/server.js';
import { MemoryStore, type CounterStore } from '../ratelimit/store.js';
import type { Changes } from '../store/store.js';
import { buildRateLimitServiceConfigs, type RateLimitServiceConfig, type ServiceDescriptor } from '../xds/ratelimit/global.js';
import type { ServeRateLimit } from './config.js';
import type { IRValue } from './gateway-stage.js';
import type { Logger } from './log.js';

export class RateLimitStage {
  private readonly perKey = new Map<string, RateLimitServiceConfig[]>();
  private limiter: RateLimiter | undefined;
  private server: RateLimitServer | undefined;
  /** The domains last applied, serialised: an IR change that leaves them alone is not logged. */
  private applied = '';
  port = 0;

  constructor(private readonly settings: ServeRateLimit, private readonly log: Logger) {}

  /** Starts the service on host (port chosen by the system); resolves with its port. */
  async start(host: string, tls?: ServiceTls): Promise<number> {
    let store: CounterStore;
    if (this.settings.redisUrl) {
      const { RedisStore } = await import('../ratelimit/redis.js');
      store = new RedisStore(this.settings.redisUrl);
    } else store = new MemoryStore();
    this.limiter = new RateLimiter({ domains: new Map() }, store);
    this.server = new RateLimitServer(this.limiter, (m) => this.log.warn(m));
    this.port = await this.server.listen(`${host.includes(':') ? `[${host}]` : host}:0`, tls);
    this.log.info(`rate limit service on ${host}:${this.port}${tls ? ' (mTLS)' : ''}; counters ${this.settings.redisUrl ? 'in Redis' : 'in memory'}`);
    return this.port;
  }

  /** The xDS IR store's subscriber: recompute the domains of the changed keys, apply all. */
  readonly handle = (changes: Changes<IRValue>): void => {
    for (const [key, value] of changes) {
      if (value) this.perKey.set(key, buildRateLimitServiceConfigs(value.ir as Pick<Xds, 'http'>));
      else this.perKey.delete(key);
    }
    this.apply();
  };

  private apply(): void {
    if (!this.limiter) return;
    const docs = mergeDomains([...this.perKey.values()].flat());
    const text = JSON.stringify(docs);
    if (text === this.applied) return;
    const { config, problems } = compileConfigs(docs.map((value) => ({ value })));
    // The translator writes these: a problem here is a bug, reported, and the last good set stays.
    if (problems.length) {
      for (const p of problems) this.log.error(`rate limit configuration: ${formatProblem(p)}`);
      return;
    }
    this.limiter.setConfig(config);
    this.applied = text;
    this.log.info(`rate limit service: ${config.domains.size} domain(s)`);
  }

  async close(): Promise<void> {
    await this.server?.close();
    await this.limiter?.close();
  }
}

/**
 * One configuration per domain. A shared policy's domain is built by every IR key its routes are
 * in; its descriptors (one per rule, named after it) are the same each time and kept once.
 */
function mergeDomains(configs: RateLimitServiceConfig[]): RateLimitServiceConfig[] {
  const byDomain = new Map<string, { config: RateLimitServiceConfig; seen: Set<string> }>();
  for (const c of configs) {
    let d = byDomain.get(c.domain);
    if (!d) byDomain.set(c.domain, (d = { config: { name: c.name, domain: c.domain, descriptors: [] }, seen: new Set() }));
    for (const desc of c.descriptors) {
      const id = descriptorId(desc);
      if (d.seen.has(id)) continue;
      d.seen.add(id);
      d.config.descriptors.push(desc);
    }
  }
  return [...byDomain.values()].map((d) => d.config);
}

const descriptorId = (d: ServiceDescriptor) => `${d.key}\0${d.value ?? ''}`;
