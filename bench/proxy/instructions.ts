// Instructions per request of the built-in proxy, counted by valgrind (callgrind), for comparing
// builds on a machine whose load makes requests/s and CPU-seconds too noisy to see a few percent.
// Each build runs under callgrind with counting off; a fixed number of requests warms it up
// (V8 compiles the hot paths), counting is switched on for a fixed number of requests over
// `--connections` kept-alive connections (one request outstanding on each, as wrk does), then off.
// The event loop's thread is the figure; the other threads (TurboFan, GC helpers) are shown too.
// Builds take turns, round after round. Not part of `npm test` (valgrind is ~50x slower).
//
//   npm run -s build && node dist/bench/proxy/instructions.js --builds base=/tmp/base,new=. [--connections 64] [--requests 8000] [--warmup 12000] [--rounds 2]
// A build is a directory holding bin/egts.js and its dist/ (a copy of the worktree's bin, dist,
// package.json, with node_modules linked, keeps a baseline).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startPinned, waitForPort } from '../common/proc.js';
import { startBackend } from './peers/nginx.js';
import { egtsConfig } from './peers/egts.js';
import { SCENARIOS, target } from './scenarios.js';
import { missingTools } from './tools.js';

const { values: opts } = parseArgs({
  options: {
    builds: { type: 'string', default: 'this=.' },
    scenario: { type: 'string', default: '1-route-c64' },
    connections: { type: 'string' },
    requests: { type: 'string', default: '8000' },
    warmup: { type: 'string', default: '12000' },
    rounds: { type: 'string', default: '2' },
    'proxy-cpu': { type: 'string', default: '0' },
    'load-cpu': { type: 'string', default: '1' },
  },
});

const tools = missingTools(['valgrind', 'callgrind_control', 'nginx', 'taskset']);
if (tools.missing.length) {
  console.error(`needs ${tools.missing.join(', ')}: ${tools.hint}`);
  process.exit(2);
}
const base = SCENARIOS.find((s) => s.id === opts.scenario);
if (!base) { console.error(`unknown scenario ${opts.scenario}`); process.exit(2); }
const scenario = { ...base, connections: opts.connections ? Number(opts.connections) : base.connections };
const builds = opts.builds!.split(',').map((b) => { const [name, dir] = b.split('='); return { name: name!, dir: resolve(dir ?? name!) }; });
const requests = Number(opts.requests);

/** Sends n requests over c kept-alive connections, one outstanding on each; any non-200 fails. */
function load(port: number, c: number, n: number): Promise<void> {
  const t = target(scenario);
  const req = `GET ${t.path} HTTP/1.1\r\nHost: ${t.host}\r\n\r\n`;
  let sent = 0;
  let done = 0;
  const sockets: net.Socket[] = [];
  return new Promise<void>((ok, fail) => {
    for (let i = 0; i < c; i++) {
      const s = net.connect(port, '127.0.0.1');
      sockets.push(s);
      s.setNoDelay(true);
      s.setEncoding('latin1');
      let buf = '';
      const next = () => { if (sent < n) { sent++; s.write(req); } };
      s.on('connect', next);
      s.on('error', fail);
      s.on('data', (d: string) => {
        buf += d;
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const len = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length < end + 4 + len) return;
          if (!buf.startsWith('HTTP/1.1 200 ')) { fail(new Error(`answered ${buf.slice(0, 100)}`)); return; }
          buf = buf.slice(end + 4 + len);
          if (++done === n) ok();
          else next();
        }
      });
    }
  }).finally(() => { for (const s of sockets) s.destroy(); });
}

/** Instructions per thread from callgrind's output files (cg.out-<thread> with --separate-threads). */
function countsOf(dir: string): number[] {
  // cg.out-01 is the main thread (the event loop).
  const files = readdirSync(dir).filter((f) => /^cg\.out-\d+$/.test(f)).sort();
  return files.map((f) => {
    let n = 0;
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/^(?:summary|totals): (\d+)/gm)) n = Math.max(n, Number(m[1]));
    return n;
  });
}

const work = mkdtempSync(join(tmpdir(), 'egts-bench-instr-'));
const backendPort = await freePort();
mkdirSync(join(work, 'backend'));
const backend = await startBackend(join(work, 'backend'), backendPort, opts['load-cpu']!);
const results = new Map<string, { main: number; all: number }[]>();
try {
  for (let r = 0; r < Number(opts.rounds); r++) {
    for (const b of builds) {
      const dir = mkdtempSync(join(work, `${b.name}-`));
      const port = await freePort();
      writeFileSync(join(dir, 'egts.json'), JSON.stringify(egtsConfig(scenario, port, backendPort)));
      const p = startPinned(b.name, opts['proxy-cpu']!, 'valgrind', ['--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${join(dir, 'cg.out')}`,
        process.execPath, join(b.dir, 'bin', 'egts.js'), 'proxy', '-c', join(dir, 'egts.json'), '--concurrency', '1']);
      try {
        await waitForPort(p, port, 300_000);
        await load(port, scenario.connections, Number(opts.warmup));
        execFileSync('callgrind_control', ['-i', 'on', String(p.pid)], { stdio: 'ignore' });
        await load(port, scenario.connections, requests);
        execFileSync('callgrind_control', ['-i', 'off', String(p.pid)], { stdio: 'ignore' });
      } finally {
        await p.stop();
      }
      const counts = countsOf(dir);
      const x = { main: Math.round(counts[0]! / requests), all: Math.round(counts.reduce((a, c) => a + c, 0) / requests) };
      results.set(b.name, [...(results.get(b.name) ?? []), x]);
      console.log(`${b.name.padEnd(12)} ${String(x.main).padStart(7)} instructions/request on the event loop, ${x.all} in all threads`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await backend.stop();
  rmSync(work, { recursive: true, force: true });
}
for (const [name, xs] of results) {
  const mains = xs.map((x) => x.main).sort((a, b) => a - b);
  console.log(`${name.padEnd(12)} event loop: ${mains.join(' ')} (min ${mains[0]})`);
}
