// Global rate limiting in `egts serve`: the built-in rate limit service runs inside the serve
// process, on a worker thread (ratelimit-worker.ts), and reads its configuration straight from
// the xDS IR. Every IR change recomputes the domains (src/xds/ratelimit/global.ts, the same source
// the proxies' descriptors come from) and posts them to the thread, which swaps them into the
// limiter; counters are keyed by domain and descriptor values, not by configuration generation,
// so descriptors an edit leaves alone keep counting.
//
// In process rather than a child process: nothing to supervise or restart, no files, and a new
// configuration is one message. On a thread rather than the control plane's event loop: a
// decision must not wait behind a translation (Envoy's default rate limit timeout is 20 ms, and
// a late answer lets the request through). Proxies reach it over mTLS with the certificates
// serve already made for xDS, as Envoy Gateway's proxies reach envoy-ratelimit.
import { Worker } from 'node:worker_threads';
import type { Xds } from '../ir/xds.js';
import type { ServiceTls } from '../ratelimit/server.js';
import type { Changes } from '../store/store.js';
import { buildRateLimitServiceConfigs, type RateLimitServiceConfig, type ServiceDescriptor } from '../xds/ratelimit/global.js';
import type { ServeRateLimit } from './config.js';
import type { IRValue } from './gateway-stage.js';
import type { Logger } from './log.js';
import type { FromWorker, RateLimitWorkerData, ToWorker } from './ratelimit-worker.js';

export class RateLimitStage {
  private readonly perKey = new Map<string, RateLimitServiceConfig[]>();
  private worker: Worker | undefined;
  /** The domains last sent, serialised: an IR change that leaves them alone sends nothing. */
  private sent = '';
  port = 0;

  constructor(private readonly settings: ServeRateLimit, private readonly log: Logger) {}

  /** Starts the service on host (port chosen by the system); resolves with its port. */
  start(host: string, tls?: ServiceTls): Promise<number> {
    const data: RateLimitWorkerData = { address: `${host.includes(':') ? `[${host}]` : host}:0`, tls, redisUrl: this.settings.redisUrl };
    const worker = (this.worker = new Worker(new URL('./ratelimit-worker.js', import.meta.url), { workerData: data }));
    return new Promise((resolve, reject) => {
      worker.once('error', (err) => { if (!this.port) reject(err); else this.log.error(`rate limit service: ${err.message}`); });
      worker.once('exit', (code) => {
        const err = `the rate limit service stopped (exit ${code}); rate limited requests now get the filters' failure mode`;
        if (!this.port) reject(new Error(err)); else this.log.error(err);
      });
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'listening') {
          this.port = m.port;
          this.log.info(`rate limit service on ${host}:${m.port}${tls ? ' (mTLS)' : ''}; counters ${this.settings.redisUrl ? 'in Redis' : 'in memory'}`);
          resolve(m.port);
        } else if (m.type === 'applied') this.log.info(`rate limit service: ${m.domains} domain(s)`);
        else this.log[m.level](m.message);
      });
    });
  }

  /** The xDS IR store's subscriber: recompute the domains of the changed keys, send them all. */
  readonly handle = (changes: Changes<IRValue>): void => {
    for (const [key, value] of changes) {
      if (value) this.perKey.set(key, buildRateLimitServiceConfigs(value.ir as Pick<Xds, 'http'>));
      else this.perKey.delete(key);
    }
    if (!this.worker) return;
    const docs = mergeDomains([...this.perKey.values()].flat());
    const text = JSON.stringify(docs);
    if (text === this.sent) return;
    this.sent = text;
    this.worker.postMessage({ type: 'config', docs } satisfies ToWorker);
  };

  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    w.removeAllListeners('exit');
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage({ type: 'close' } satisfies ToWorker);
    // A service that does not stop in time is ended with the thread.
    const timer = setTimeout(() => void w.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * One configuration per domain. A shared policy's domain is built by every IR key its routes are
 * in; its descriptors (one per rule, named after it) are the same each time and kept once.
 */
export function mergeDomains(configs: RateLimitServiceConfig[]): RateLimitServiceConfig[] {
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
