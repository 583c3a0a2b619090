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
import type { ChurnReport, ReloadReport, ServeReport } from './results.js';

const [mode = 'memory', nArg = '1000'] = process.argv.slice(2);
const n = Number(nArg);
const DEBOUNCE_MS = 100; // the file watcher's default, what `egts serve` runs with
const SETTLE_MS = 20_000;
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

const agent = new http.Agent({ keepAlive: true });
/** The status the proxy answers for a host now (0: no answer). */
function status(host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: gatewayPort, path: '/', headers: { host }, agent, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Polls every 2 ms until the proxy answers `want` for the host; returns the time it took. */
async function until(host: string, want: (s: number) => boolean, since: number, timeoutMs = 30_000): Promise<number> {
  for (;;) {
    if (want(await status(host))) return performance.now() - since;
    if (performance.now() - since > timeoutMs) throw new Error(`${host}: not served within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const proxyRss = () => {
  const p = cp.infra?.list()[0];
  return p?.pid ? MiB(rssBytes(processTree(p.pid))) : undefined;
};

const t0 = performance.now();
await cp.start();
const firstLoadMs = performance.now() - t0;
let out: ServeReport | ReloadReport | ChurnReport;
try {
  // The proxy is up once it answers (a host in the fixture; path / matches no route: 404).
  await until('www.benchmark-0.com', (s) => s !== 0, performance.now(), 60_000);
  const servedMs = performance.now() - t0;
  if (mode === 'memory') {
    const loaded = memoryAfterGC();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    out = { routes: n, firstLoadMs, servedMs, memory: loaded, settled: memoryAfterGC(), settleMs: SETTLE_MS, proxyMiB: proxyRss() } satisfies ServeReport;
  } else {
    const all = files['routes.yaml']!;
    if (mode === 'reload') {
      const appendMs: number[] = [];
      const newFileMs: number[] = [];
      let text = all;
      // One change first, not measured: the first reload after the start compiles its code paths.
      writeFileSync(join(dir, 'warmup.yaml'), scaleRoute(n + 200, 'warmup.example.com', '/'));
      await until('warmup.example.com', (s) => s === 200, performance.now());
      for (let k = 0; k < 5; k++) {
        const host = `append-${k}.example.com`;
        text += `\n---\n${scaleRoute(n + k, host, '/')}`;
        const since = performance.now();
        writeFileSync(join(dir, 'routes.yaml'), text);
        appendMs.push(await until(host, (s) => s === 200, since));
      }
      for (let k = 0; k < 5; k++) {
        const host = `file-${k}.example.com`;
        const since = performance.now();
        writeFileSync(join(dir, `new-${k}.yaml`), scaleRoute(n + 100 + k, host, '/'));
        newFileMs.push(await until(host, (s) => s === 200, since));
      }
      out = { routes: n, appendMs, newFileMs, debounceMs: DEBOUNCE_MS } satisfies ReloadReport;
    } else {
      const rounds = 50, added = 20;
      const extra = join(dir, 'extra.yaml');
      const roundMs: number[] = [];
      const round = async (r: number) => {
        const hosts = Array.from({ length: added }, (_, i) => `churn-${r}-${i}.example.com`);
        let since = performance.now();
        writeFileSync(extra, hosts.map((h, i) => scaleRoute(n + 1000 + i, h, '/')).join('\n---\n'));
        roundMs.push(await until(hosts[added - 1]!, (s) => s === 200, since));
        since = performance.now();
        unlinkSync(extra);
        roundMs.push(await until(hosts[added - 1]!, (s) => s === 404, since));
      };
      await round(-1); // warm-up: the first change JITs the reload path
      roundMs.length = 0;
      // Both ends measured the same way: settled (idle for a while), then after a full GC.
      await new Promise((r) => setTimeout(r, CHURN_SETTLE_MS));
      const start = memoryAfterGC();
      if (process.env.EGTS_BENCH_HEAP) (await import('node:v8')).writeHeapSnapshot(`${process.env.EGTS_BENCH_HEAP}/start.heapsnapshot`);
      const proxyStartMiB = proxyRss();
      for (let r = 0; r < rounds; r++) await round(r);
      await new Promise((r) => setTimeout(r, CHURN_SETTLE_MS));
      const end = memoryAfterGC();
      if (process.env.EGTS_BENCH_HEAP) (await import('node:v8')).writeHeapSnapshot(`${process.env.EGTS_BENCH_HEAP}/end.heapsnapshot`);
      out = { routes: n, rounds, added, start, end, settleMs: CHURN_SETTLE_MS, proxyStartMiB, proxyEndMiB: proxyRss(), roundMs } satisfies ChurnReport;
    }
  }
} finally {
  agent.destroy();
  await cp.stop(0);
  backend.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
// The proxies' output (access logs) goes to stdout: the report goes to its own file.
writeFileSync(process.env.EGTS_BENCH_OUT ?? '/dev/stderr', JSON.stringify(out));
process.exit(0);
