// The thread `egts serve` runs its rate limit service on: the limiter and its gRPC server, fed
// domain configurations by the control plane (ratelimit-stage.ts). On a thread of its own, a
// decision never waits behind a translation on the control plane's event loop (Envoy's default
// rate limit timeout is 20 ms, and a late answer lets the request through).
import { parentPort, workerData } from 'node:worker_threads';
import { formatProblem } from '../api/place.js';
import { compileConfigs } from '../ratelimit/config.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { RateLimitServer, type ServiceTls } from '../ratelimit/server.js';
import { MemoryStore, type CounterStore } from '../ratelimit/store.js';

export interface RateLimitWorkerData {
  /** host:port to listen on (port 0: any). */
  address: string;
  tls?: ServiceTls;
  redisUrl?: string;
}

/** Control plane → worker. */
export type ToWorker = { type: 'config'; docs: unknown[] } | { type: 'close' };
/** Worker → control plane. */
export type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'applied'; domains: number }
  | { type: 'log'; level: 'warn' | 'error'; message: string };

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as RateLimitWorkerData;
  const send = (m: FromWorker) => port.postMessage(m);
  let store: CounterStore;
  if (data.redisUrl) {
    const { RedisStore } = await import('../ratelimit/redis.js');
    store = new RedisStore(data.redisUrl);
  } else store = new MemoryStore();
  const limiter = new RateLimiter({ domains: new Map() }, store);
  const server = new RateLimitServer(limiter, (message) => send({ type: 'log', level: 'warn', message }));
  port.on('message', (m: ToWorker) => {
    if (m.type === 'close') {
      void server.close().then(() => limiter.close()).then(() => port.close());
      return;
    }
    const { config, problems } = compileConfigs(m.docs.map((value) => ({ value })));
    // The translator writes these documents: a problem is a bug, reported; the last good set stays.
    if (problems.length) {
      for (const p of problems) send({ type: 'log', level: 'error', message: `rate limit configuration: ${formatProblem(p)}` });
      return;
    }
    limiter.setConfig(config);
    send({ type: 'applied', domains: config.domains.size });
  });
  send({ type: 'listening', port: await server.listen(data.address, data.tls) });
}

main().catch((err: Error) => {
  parentPort!.postMessage({ type: 'log', level: 'error', message: `rate limit service: ${err.message}` } satisfies FromWorker);
  process.exit(1);
});
