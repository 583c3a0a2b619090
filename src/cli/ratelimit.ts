// `egts ratelimit`: the built-in global rate limit service. Serves
// envoy.service.ratelimit.v3.RateLimitService over gRPC from configuration files (the domains
// `egts translate --to ratelimit` prints, or Envoy's reference service format), counting in
// memory or in Redis; files are watched and reloaded, a bad edit keeps the last good config.
import { watch, type FSWatcher } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblem } from '../api/place.js';
import { RateLimiter } from '../ratelimit/limiter.js';
import { loadConfigFiles } from '../ratelimit/load.js';
import { RateLimitServer } from '../ratelimit/server.js';
import { MemoryStore, type CounterStore } from '../ratelimit/store.js';

const USAGE = `usage: egts ratelimit -c <file|dir> [-c ...] [options]

  -c, --config <path>     rate limit configuration: files or folders of YAML/JSON domain documents
      --listen <host:port> gRPC address (default 127.0.0.1:8081; port 0 picks one)
      --redis <url>        keep counters in Redis (redis://[user:password@]host:port[/db],
                           rediss:// for TLS) so that several services share them
      --tls-cert <file>    serve TLS with this certificate chain (PEM) ...
      --tls-key <file>     ... and key
      --tls-ca <file>      require client certificates signed by this CA (mTLS)`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c', multiple: true },
        listen: { type: 'string' },
        redis: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`egts ratelimit: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const paths = (values.config ?? []).map((p) => resolve(p));
  if (!paths.length) { console.error(`egts ratelimit: at least one -c <file|dir> is required\n\n${USAGE}`); return 2; }
  if (!!values['tls-cert'] !== !!values['tls-key']) { console.error('egts ratelimit: --tls-cert and --tls-key go together'); return 2; }
  const first = await loadConfigFiles(paths);
  if (first.problems.length) {
    for (const p of first.problems) console.error(`egts ratelimit: ${formatProblem(p)}`);
    return 1;
  }
  let store: CounterStore;
  if (values.redis) {
    const { RedisStore } = await import('../ratelimit/redis.js');
    store = new RedisStore(values.redis);
  } else store = new MemoryStore();
  const limiter = new RateLimiter(first.config, store);
  const server = new RateLimitServer(limiter, (m) => console.error(`egts ratelimit: ${m}`));
  const tls = values['tls-cert'] ? { certFile: values['tls-cert'], keyFile: values['tls-key']!, caFile: values['tls-ca'] } : undefined;
  let port: number;
  const address = values.listen ?? '127.0.0.1:8081';
  try {
    port = await server.listen(address, tls);
  } catch (err) {
    console.error(`egts ratelimit: cannot listen on ${address}: ${(err as Error).message}`);
    await limiter.close();
    return 1;
  }
  console.error(`egts ratelimit: ${first.config.domains.size} domain(s) from ${first.files.length} file(s); ${values.redis ? 'counters in Redis' : 'counters in memory'}`);
  console.error(`egts ratelimit: listening on port ${port}${tls ? (tls.caFile ? ' (mTLS)' : ' (TLS)') : ''}`);

  // Edits are picked up: the configuration is read again a moment after the last change.
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    timer = undefined;
    void loadConfigFiles(paths).then((r) => {
      if (r.problems.length) {
        for (const p of r.problems) console.error(`egts ratelimit: ${formatProblem(p)}`);
        console.error('egts ratelimit: configuration not reloaded; the last good one stays in force');
        return;
      }
      limiter.setConfig(r.config);
      console.error(`egts ratelimit: reloaded ${r.config.domains.size} domain(s)`);
    });
  };
  const watchers: FSWatcher[] = [];
  for (const p of paths) {
    try {
      watchers.push(watch(p, { recursive: false }, () => { if (timer) clearTimeout(timer); timer = setTimeout(reload, 200); }));
    } catch { /* a path that cannot be watched is read at start only */ }
  }
  return new Promise<number>((done) => {
    const stop = () => {
      for (const w of watchers) w.close();
      if (timer) clearTimeout(timer);
      void server.close().then(() => limiter.close()).then(() => done(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
