// The running proxy as `egts proxy` drives it: one process (concurrency 1), or a primary with
// worker processes (workers.ts). Either way there is one Proxy holding the configuration (the
// one ADS and -c updates go to), statistics for the admin endpoint, the bound listener ports,
// and a graceful shutdown.
import { availableParallelism } from 'node:os';
import { Proxy } from './proxy.js';
import { takeSnapshot, type StatsSnapshot } from './stats/snapshot.js';
import { ControlProxy } from './workers.js';

export interface ProxyRuntime {
  /** Where configuration goes (ADS, -c): the proxy itself, or the primary's control proxy. */
  readonly proxy: Proxy;
  readonly concurrency: number;
  stats(): Promise<StatsSnapshot>;
  /** The port a listener got (useful with port 0). */
  listenerPort(name: string): number | undefined;
  /** Stop accepting everywhere and drain (admin /drain_listeners). */
  drainListeners(): Promise<void>;
  /** Stop accepting, let connections finish for up to drainMs, then close everything. */
  close(drainMs: number): Promise<void>;
}

/** Envoy's default --concurrency: the number of hardware threads. */
export function defaultConcurrency(): number {
  return availableParallelism();
}

export async function createRuntime(o: { concurrency: number; drainMs: number }): Promise<ProxyRuntime> {
  if (o.concurrency <= 1) {
    const proxy = new Proxy({ drainTimeoutMs: o.drainMs });
    return {
      proxy,
      concurrency: 1,
      stats: async () => {
        const s = takeSnapshot(proxy, 'local');
        s.gauges['server.concurrency'] = 1;
        return s;
      },
      listenerPort: (n) => proxy.listeners.boundPort(n),
      drainListeners: () => proxy.listeners.close(o.drainMs),
      close: (d) => proxy.close(d),
    };
  }
  const control = new ControlProxy(o.concurrency, { drainTimeoutMs: o.drainMs });
  await control.start();
  return {
    proxy: control,
    concurrency: o.concurrency,
    stats: () => control.stats(),
    listenerPort: (n) => control.listenerPort(n),
    drainListeners: () => control.drainListeners(),
    close: (d) => control.close(d),
  };
}
