// `npm run bench:control`: the control plane's translation time and memory at scale, the time
// from a file change to the proxy serving it, and memory under churn. Each measurement runs in a
// fresh Node.js process (memory figures are per process). Results: bench/results/control.json,
// tables on stdout, and docs/benchmarks.md regenerated.
//   npm run bench:control -- [--scales 10,100,1000,10000] [--skip large,serve,reload,churn]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo, round2 } from '../common/machine.js';
import { renderDocs, saveResults } from '../common/report.js';
import type { TranslateReport } from './measure.js';
import { controlTables, type ChurnReport, type ControlResults, type ReloadReport, type ServeReport } from './results.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    scales: { type: 'string', default: '10,100,1000,10000' },
    skip: { type: 'string', default: '' },
    'no-docs': { type: 'boolean', default: false },
  },
});
const scales = opts.scales!.split(',').map(Number);
const skip = new Set(opts.skip!.split(',').filter(Boolean));

const work = mkdtempSync(join(tmpdir(), 'egts-bench-control-'));
let seq = 0;
/** Runs a measuring script in its own process; it writes its report to a file. */
function child<T>(script: string, args: string[]): T {
  const out = join(work, `${++seq}.json`);
  try {
    // The proxies' output (access logs, shutdown) is of no interest unless the run fails.
    execFileSync(process.execPath, ['--expose-gc', join(here, script), ...args], {
      env: { ...process.env, EGTS_BENCH_OUT: out },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`${script} ${args.join(' ')} failed: ${e.message}\n${e.stderr?.toString().slice(-4000) ?? ''}`);
  }
  return JSON.parse(readFileSync(out, 'utf8')) as T;
}

const machine = machineInfo();
if (machine.loadStart[0]! >= 1) console.error(`note: load average ${machine.loadStart.join(' ')}: other work on this machine skews the figures`);
const results: ControlResults = { machine, translate: [], serve: [] };
const say = (m: string) => console.error(`${m}  (load ${loadavg()[0]!.toFixed(2)})`);
try {
  for (const n of scales) {
    const t = child<TranslateReport>('translate.js', [`scale:${n}`]);
    results.translate.push(t);
    say(`translate ${n} routes: gatewayapi ${t.coldMs.gatewayapi!.toFixed(0)} ms, xds ${t.coldMs.xds!.toFixed(0)} ms cold; RSS ${t.memory.rssMiB} MiB`);
  }
  if (!skip.has('large')) {
    const t = child<TranslateReport>('translate.js', ['large']);
    results.translate.push(t);
    say(`translate large: gatewayapi ${t.coldMs.gatewayapi!.toFixed(0)} ms, xds ${t.coldMs.xds!.toFixed(0)} ms cold; RSS ${t.memory.rssMiB} MiB`);
  }
  if (!skip.has('serve')) {
    for (const n of scales) {
      const s = child<ServeReport>('serve.js', ['memory', String(n)]);
      results.serve.push(s);
      say(`serve ${n} routes: first load ${s.firstLoadMs.toFixed(0)} ms, RSS ${s.memory.rssMiB} MiB after load, ${s.settled.rssMiB} MiB settled, heap ${s.settled.heapUsedMiB} MiB`);
    }
  }
  if (!skip.has('reload')) {
    results.reload = child<ReloadReport>('serve.js', ['reload', '1000']);
    say(`change to serving at 1000 routes: ${results.reload.appendMs.map((x) => x.toFixed(0)).join(', ')} ms (appended), ${results.reload.newFileMs.map((x) => x.toFixed(0)).join(', ')} ms (new file)`);
  }
  if (!skip.has('churn')) {
    results.churn = child<ChurnReport>('serve.js', ['churn', '1000']);
    say(`churn: RSS ${results.churn.start.rssMiB} → ${results.churn.end.rssMiB} MiB, heap ${results.churn.start.heapUsedMiB} → ${results.churn.end.heapUsedMiB} MiB`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
machine.loadEnd = loadavg().map(round2);
const file = saveResults('control', results);
console.log(controlTables(results));
console.error(`results: ${file}`);
if (!opts['no-docs']) console.error(`docs: ${renderDocs()}`);
