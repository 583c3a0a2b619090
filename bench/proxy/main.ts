// `npm run bench:proxy`: the built-in proxy against the proxies a user would pick instead, in
// one run on loopback. The proxy under test gets one CPU to itself; wrk (one thread) and the
// nginx `return 200` backend share the other. Each peer runs one worker with keep-alive to the
// client and to the backend. Results: bench/results/proxy.json, a table on stdout, and
// docs/benchmarks.md regenerated.
//   npm run bench:proxy -- [--seconds 5] [--warmup 2] [--repeat 3] [--peers egts,nginx,...] [--scenarios 1-route-c64,...]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateCertificates } from '../../src/infra/certgen.js';
import { machineInfo, round2 } from '../common/machine.js';
import { MiB, cpuSeconds, freePort, processTree, rssBytes, sleep, type Proc } from '../common/proc.js';
import { renderDocs, saveResults } from '../common/report.js';
import { directPeer } from './peers/direct.js';
import { egtsPeer } from './peers/egts.js';
import { haproxyPeer } from './peers/haproxy.js';
import { nginxPeer, startBackend } from './peers/nginx.js';
import { fastifyPeer, nodeHttpPeer } from './peers/node.js';
import type { Peer, PeerContext } from './peers/types.js';
import { FIXED_RATE, SCENARIOS, target, type Scenario } from './scenarios.js';
import { missingTools } from './tools.js';
import { runWrk } from './wrk.js';
import { proxyTable, type ProxyResults, type ProxyRun } from './results.js';

const PEERS: Peer[] = [directPeer, egtsPeer, nginxPeer, haproxyPeer, nodeHttpPeer, fastifyPeer];

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    repeat: { type: 'string', default: '3' },
    peers: { type: 'string' },
    scenarios: { type: 'string' },
    'proxy-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
    'no-fixed-rate': { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
  },
});

const seconds = Number(opts.seconds);
const warmup = Number(opts.warmup);
const repeat = Math.max(1, Number(opts.repeat));
const peers = opts.peers ? PEERS.filter((p) => opts.peers!.split(',').includes(p.id)) : PEERS;
const scenarios = opts.scenarios ? SCENARIOS.filter((s) => opts.scenarios!.split(',').includes(s.id)) : SCENARIOS;

const tools = missingTools(['wrk', 'nginx', 'taskset', ...(peers.some((p) => p.id === 'haproxy') ? ['haproxy'] : [])]);
if (tools.missing.length) {
  console.error(`bench:proxy needs ${tools.missing.join(', ')}, which this machine lacks. Install them with:\n  ${tools.hint}\n(or leave HAProxy out with --peers direct,egts,nginx,node-http,fastify)`);
  process.exit(2);
}
for (const p of peers) {
  const why = p.missing();
  if (why) { console.error(`bench:proxy: ${p.label}: ${why}`); process.exit(2); }
}

const machine = machineInfo(['wrk', 'nginx', 'haproxy']);
if (machine.loadStart[0]! >= 1) console.error(`note: load average ${machine.loadStart.join(' ')}: other work on this machine skews the figures`);
const work = mkdtempSync(join(tmpdir(), 'egts-bench-proxy-'));
const certs = generateCertificates({ serverNames: ['bench.example.com', 'localhost', '127.0.0.1'] });
const tls = { cert: certs.server.cert, key: certs.server.key, certFile: join(work, 'server.crt'), keyFile: join(work, 'server.key') };
writeFileSync(tls.certFile, tls.cert);
writeFileSync(tls.keyFile, tls.key);

const backendPort = await freePort();
const backendDir = join(work, 'backend');
mkdirSync(backendDir);
const backend = await startBackend(backendDir, backendPort, opts['load-cpu']!);

/** One request through the peer before measuring: a peer that does not answer 200 is not measured. */
function probe(port: number, s: Scenario): Promise<number> {
  const t = target(s);
  const mod = s.tls ? https : http;
  return new Promise((resolve) => {
    const req = mod.request({ host: '127.0.0.1', port, path: t.path, headers: { host: t.host }, rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function withPeer<T>(peer: Peer, s: Scenario, fn: (port: number, proc: Proc | undefined) => Promise<T>): Promise<T | { error: string }> {
  const dir = mkdtempSync(join(work, `${peer.id}-`));
  const port = peer.id === 'direct' ? backendPort : await freePort();
  const ctx: PeerContext = { scenario: s, port, backendPort, dir, tls, cpu: opts['proxy-cpu']! };
  let proc: Proc | undefined;
  try {
    if (s.tls && peer.id === 'direct') return { error: 'n/a' };
    const unsupported = peer.unsupported?.(s);
    if (unsupported) return { error: unsupported };
    proc = await peer.start(ctx);
    const status = await probe(port, s);
    if (status !== 200) return { error: `answered ${status || 'nothing'} instead of 200${proc ? `: ${proc.output().slice(-300)}` : ''}` };
    return await fn(port, proc);
  } catch (err) {
    return { error: (err as Error).message.slice(0, 500) };
  } finally {
    await proc?.stop();
  }
}

async function measure(peer: Peer, s: Scenario, rate?: number): Promise<ProxyRun> {
  const t = target(s);
  const base = { scenario: s.id, peer: peer.id, connections: s.connections, rate };
  const r = await withPeer(peer, s, async (port, proc) => {
    const url = `${s.tls ? 'https' : 'http'}://127.0.0.1:${port}${t.path}`;
    const wrk = { url, host: t.host, connections: s.connections, cpu: opts['load-cpu']!, rate };
    await runWrk({ ...wrk, seconds: warmup });
    const pids = proc ? processTree(proc.pid) : [];
    const cpu0 = cpuSeconds(pids);
    const w = await runWrk({ ...wrk, seconds });
    const cpu = cpuSeconds(pids) - cpu0;
    return {
      ...base,
      rps: Math.round(w.rps),
      p50Ms: round3(w.p50Ms),
      p99Ms: round3(w.p99Ms),
      cpuPer10k: proc ? round3((cpu / w.requests) * 10_000) : undefined,
      rssMiB: proc ? MiB(rssBytes(processTree(proc.pid))) : undefined,
      errors: w.errors,
      non2xx: w.non2xx,
      load: round2(loadavg()[0]!),
    } satisfies ProxyRun;
  });
  return 'error' in r ? { ...base, error: r.error } : r;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const runs: ProxyRun[] = [];
const fixed: ProxyRun[] = [];

/**
 * The run a figure is taken from: the median by requests/s of the repetitions. Peers are
 * measured in turn, round after round, so that a change in the machine's load falls on all.
 */
function median(samples: ProxyRun[]): ProxyRun {
  const ok = samples.filter((x) => !x.error);
  if (!ok.length) return samples[0]!;
  const sorted = [...ok].sort((a, b) => a.rps! - b.rps!);
  const m = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...m, samples: ok.map((x) => ({ rps: x.rps!, p50Ms: x.p50Ms!, p99Ms: x.p99Ms!, cpuPer10k: x.cpuPer10k })) };
}

const show = (label: string, peer: string, r: ProxyRun) => console.error(`${label.padEnd(16)} ${peer.padEnd(10)} ${r.error ? `error: ${r.error}` : `${String(r.rps).padStart(7)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms${r.cpuPer10k !== undefined ? `  ${r.cpuPer10k} cpu-s/10k  ${r.rssMiB} MiB` : ''}${r.errors || r.non2xx ? `  errors ${r.errors} non-2xx ${r.non2xx}` : ''}`}  (load ${loadavg()[0]!.toFixed(2)})`);

try {
  for (const s of scenarios) {
    const samples = new Map<string, ProxyRun[]>(peers.map((p) => [p.id, []]));
    const notApplicable = new Set<string>();
    for (let round = 0; round < repeat; round++) {
      for (const peer of peers) {
        if (notApplicable.has(peer.id)) continue;
        const r = await measure(peer, s);
        samples.get(peer.id)!.push(r);
        show(s.id, peer.id, r);
        if (r.error?.startsWith('n/a')) notApplicable.add(peer.id);
        await sleep(200);
      }
    }
    for (const peer of peers) if (samples.get(peer.id)!.length) runs.push(median(samples.get(peer.id)!));
  }
  if (!opts['no-fixed-rate']) {
    const s = SCENARIOS.find((x) => x.id === '1-route-c64')!;
    const samples = new Map<string, ProxyRun[]>(peers.map((p) => [p.id, []]));
    for (let round = 0; round < repeat; round++) {
      for (const peer of peers) {
        const r = await measure(peer, s, FIXED_RATE);
        samples.get(peer.id)!.push(r);
        show(`fixed ${FIXED_RATE}/s`, peer.id, r);
      }
    }
    // At a fixed rate the requests/s are all alike: the median run is the one of median p99.
    for (const peer of peers) {
      const ok = samples.get(peer.id)!.filter((x) => !x.error).sort((a, b) => a.p99Ms! - b.p99Ms!);
      const m = ok[Math.floor((ok.length - 1) / 2)];
      fixed.push(m ? { ...m, samples: ok.map((x) => ({ rps: x.rps!, p50Ms: x.p50Ms!, p99Ms: x.p99Ms!, cpuPer10k: x.cpuPer10k })) } : samples.get(peer.id)![0]!);
    }
  }
} finally {
  await backend.stop();
  rmSync(work, { recursive: true, force: true });
}

machine.loadEnd = loadavg().map(round2);
const results: ProxyResults = { machine, settings: { seconds, warmup, repeat, proxyCpu: opts['proxy-cpu']!, loadCpu: opts['load-cpu']!, fixedRate: FIXED_RATE }, scenarios, runs, fixed };
const file = saveResults('proxy', results);
console.log(proxyTable(results));
console.error(`results: ${file}`);
if (!opts['no-docs']) console.error(`docs: ${renderDocs()}`);
