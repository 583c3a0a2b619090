// `egts serve`'s control plane measured whole, in a process of its own (run by
// bench/control/main.ts with --expose-gc), on the scale fixture:
//   memory <n>  first load, and memory after a full GC: right after the load, and once settled
//               (idle for a while, as V8 gives back the young generation it grew while
//               translating); the built-in proxy attached and serving, its RSS reported apart;
//   reload <n>  time from a file change to the built-in proxy serving a new route;
//   churn <n>   memory before and after 50 rounds of adding and removing 20 routes, each change
//               waited for until the built-in proxy serves it (or stops serving it).
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../src/serve/control-plane.js';
import { defaultConfig } from '../../src/serve/config.js';
import { createLogger } from '../../src/serve/log.js';
import { freePort, processTree, rssBytes, MiB } from '../common/proc.js';
import { scale, scaleRoute } from './fixtures.js';
import { memoryAfterGC } from './measure.js';
import { Poller, type Want } from './poller.js';
import type { ChurnReport, ReloadReport, ServeReport } from './results.js';

const [mode = 'memory', nArg = '1000'] = process.argv.slice(2);
const n = Number(nArg);
const DEBOUNCE_MS = 100; // the file watcher's default, what `egts serve` runs with
const SETTLE_MS = Number(process.env.EGTS_BENCH_SETTLE_MS ?? 20_000);
const CHURN_SETTLE_MS = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'egts-bench-serve-'));
const home = mkdtempSync(join(tmpdir(), 'egts-bench-home-'));

// The backend the proxy forwards to: answers 200 to anything.
const backend = http.createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const backendPort = (backend.address() as AddressInfo).port;
const gatewayPort = await freePort();
const files = scale(n, gatewayPort, backendPort);
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);

const cp = new ControlPlane({
  config: { ...defaultConfig([dir]), admin: { host: '127.0.0.1', port: 0 } },
  home,
  xds: { host: '127.0.0.1', port: 0 },
  proxy: { kind: 'builtin', drainSeconds: 0 },
  log: createLogger((process.env.EGTS_BENCH_LOG as 'debug' | undefined) ?? 'error'),
  demoBackends: false,
});

// The poller's thread is a V8 isolate of its own in this process: it is stopped before every
// memory reading, so that the figures are the control plane's alone.
let poller: Poller | undefined = new Poller(gatewayPort);
const now = Poller.now;
const until = (host: string, want: Want, since: number, timeoutMs?: number) => (poller ??= new Poller(gatewayPort)).until(host, want, since, timeoutMs);
async function stopPoller(): Promise<void> {
  await poller?.close();
  poller = undefined;
}

const proxyRss = () => {
  const p = cp.infra?.list()[0];
  return p?.pid ? MiB(rssBytes(processTree(p.pid))) : undefined;
};

const t0 = now();
await cp.start();
const firstLoadMs = now() - t0;
let out: ServeReport | ReloadReport | ChurnReport;
try {
  // The proxy is up once it answers (a host in the fixture; path / matches no route: 404).
  const servedMs = await until('www.benchmark-0.com', 'answer', t0, 120_000);
  if (mode === 'memory') {
    await stopPoller();
    const loaded = memoryAfterGC();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    out = { routes: n, firstLoadMs, servedMs, memory: loaded, settled: memoryAfterGC(), settleMs: SETTLE_MS, proxyMiB: proxyRss() } satisfies ServeReport;
  } else {
    const all = files['routes.yaml']!;
    if (mode === 'reload') {
      const appendMs: number[] = [];
      const newFileMs: number[] = [];
      let text = all;
      // The two kinds of change take turns, after one of each that is not measured (the first
      // reloads after the start compile their code paths).
      const append = async (k: number) => {
        const host = `append-${k}.example.com`;
        text += `\n---\n${scaleRoute(n + 1 + k, host, '/')}`;
        const since = now();
        writeFileSync(join(dir, 'routes.yaml'), text);
        return until(host, 'ok', since);
      };
      const newFile = async (k: number) => {
        const host = `file-${k}.example.com`;
        const since = now();
        writeFileSync(join(dir, `new-${k}.yaml`), scaleRoute(n + 100 + k, host, '/'));
        return until(host, 'ok', since);
      };
      await append(-1);
      await newFile(-1);
      for (let k = 0; k < 5; k++) {
        appendMs.push(await append(k));
        newFileMs.push(await newFile(k));
      }
      out = { routes: n, appendMs, newFileMs, debounceMs: DEBOUNCE_MS } satisfies ReloadReport;
    } else {
      const rounds = 50, added = 20;
      const extra = join(dir, 'extra.yaml');
      const roundMs: number[] = [];
      const round = async (r: number) => {
        const hosts = Array.from({ length: added }, (_, i) => `churn-${r}-${i}.example.com`);
        let since = now();
        writeFileSync(extra, hosts.map((h, i) => scaleRoute(n + 1000 + i, h, '/')).join('\n---\n'));
        roundMs.push(await until(hosts[added - 1]!, 'ok', since));
        since = now();
        unlinkSync(extra);
        roundMs.push(await until(hosts[added - 1]!, 'not-found', since));
      };
      await round(-1); // warm-up: the first change JITs the reload path
      roundMs.length = 0;
      // Both ends measured the same way: settled (idle for a while), then after a full GC.
      await stopPoller();
      await new Promise((r) => setTimeout(r, CHURN_SETTLE_MS));
      const start = memoryAfterGC();
      if (process.env.EGTS_BENCH_HEAP) (await import('node:v8')).writeHeapSnapshot(`${process.env.EGTS_BENCH_HEAP}/start.heapsnapshot`);
      const proxyStartMiB = proxyRss();
      for (let r = 0; r < rounds; r++) await round(r);
      await stopPoller();
      await new Promise((r) => setTimeout(r, CHURN_SETTLE_MS));
      const end = memoryAfterGC();
      if (process.env.EGTS_BENCH_HEAP) (await import('node:v8')).writeHeapSnapshot(`${process.env.EGTS_BENCH_HEAP}/end.heapsnapshot`);
      out = { routes: n, rounds, added, start, end, settleMs: CHURN_SETTLE_MS, proxyStartMiB, proxyEndMiB: proxyRss(), roundMs } satisfies ChurnReport;
    }
  }
} finally {
  await stopPoller();
  await cp.stop(0);
  backend.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
// The proxies' output (access logs) goes to stdout: the report goes to its own file.
writeFileSync(process.env.EGTS_BENCH_OUT ?? '/dev/stderr', JSON.stringify(out));
process.exit(0);
