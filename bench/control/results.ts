// The control-plane benchmark's results: their shape (bench/results/control.json), the tables,
// and the targets of issue 6 checked against them.
import type { MachineInfo } from '../common/machine.js';
import type { TargetCheck } from '../proxy/results.js';
import type { Memory, TranslateReport } from './measure.js';

export interface ServeReport {
  routes: number;
  /** Start until the first snapshot is built. */
  firstLoadMs: number;
  /** Start until the built-in proxy answers. */
  servedMs: number;
  /** Right after the load, after a full GC. */
  memory: Memory;
  /** After settleMs idle, after a full GC. */
  settled: Memory;
  settleMs: number;
  proxyMiB?: number;
}

export interface ReloadReport {
  routes: number;
  /** A new HTTPRoute appended to the file holding all the routes, until the proxy answers 200 for it. */
  appendMs: number[];
  /** A new HTTPRoute in a file of its own. */
  newFileMs: number[];
  debounceMs: number;
}

export interface ChurnReport {
  routes: number;
  rounds: number;
  added: number;
  start: Memory;
  end: Memory;
  settleMs: number;
  proxyStartMiB?: number;
  proxyEndMiB?: number;
  roundMs: number[];
}

export interface ControlResults {
  machine: MachineInfo;
  translate: TranslateReport[];
  serve: ServeReport[];
  reload?: ReloadReport;
  churn?: ChurnReport;
}

const f0 = (x: number) => x.toFixed(0);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN; };

export function controlTables(r: ControlResults): string {
  const out: string[] = [];
  const stages = ['load', 'gather', 'gatewayapi', 'xds', 'snapshot'];
  out.push('#### Translation, stage by stage (ms; cold = the first pass in a fresh process, warm = best of 3 more)', '',
    `| fixture | objects | input MB | ${stages.join(' | ')} | translate (gatewayapi + xds) cold / warm | total cold | RSS MiB | heap MiB | output |`,
    `|---|---:|---:|${stages.map(() => '---:').join('|')}|---:|---:|---:|---:|---|`);
  for (const t of r.translate) {
    const c = t.coldMs, w = t.warmMs;
    const cell = (k: string) => (k === 'load' ? f0(c[k]!) : `${f0(c[k]!)} / ${f0(w[k]!)}`);
    const total = stages.reduce((n, k) => n + (c[k] ?? 0), 0);
    const o = t.output;
    out.push(`| ${t.fixture} | ${t.objects} | ${t.inputMB} | ${stages.map(cell).join(' | ')} | ${f0(c.gatewayapi! + c.xds!)} / ${f0(w.gatewayapi! + w.xds!)} | ${f0(total)} | ${t.memory.rssMiB} | ${t.memory.heapUsedMiB} | ` +
      `${o.listeners ?? 0} listeners, ${o.virtualHosts ?? 0} vhosts, ${o.envoyRoutes ?? 0} routes, ${o.clusters ?? 0} clusters${t.problems || t.notAccepted.length ? `; **${t.problems} problems, ${t.notAccepted.length} not accepted**` : ''} |`);
  }
  out.push('');
  if (r.serve.length) {
    const settle = r.serve[0]!.settleMs / 1000;
    out.push('#### `egts serve` holding the scale configuration, its built-in proxy attached and serving (memory after a full GC)', '',
      `| HTTPRoutes | first load ms | proxy serving ms | RSS MiB after load | RSS MiB settled (${settle} s idle) | heap used MiB | built-in proxy RSS MiB |`, '|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of r.serve) out.push(`| ${s.routes} | ${f0(s.firstLoadMs)} | ${f0(s.servedMs)} | ${s.memory.rssMiB} | ${s.settled.rssMiB} | ${s.settled.heapUsedMiB} | ${s.proxyMiB ?? '—'} |`);
    out.push('');
  }
  if (r.reload) {
    const x = r.reload;
    out.push(`#### File change to the proxy serving a new route (${x.routes} HTTPRoutes, built-in proxy; from the write until the proxy answers 200 for the new host, the watcher's ${x.debounceMs} ms debounce included; the two kinds of change take turns, after one unmeasured change of each)`, '',
      '| change | median ms | max ms | samples |', '|---|---:|---:|---|',
      `| route appended to the file of all routes | ${f0(median(x.appendMs))} | ${f0(Math.max(...x.appendMs))} | ${x.appendMs.map(f0).join(', ')} |`,
      `| route in a new file | ${f0(median(x.newFileMs))} | ${f0(Math.max(...x.newFileMs))} | ${x.newFileMs.map(f0).join(', ')} |`, '');
  }
  if (r.churn) {
    const c = r.churn;
    out.push(`#### Churn: ${c.rounds} rounds of adding and removing ${c.added} HTTPRoutes on top of ${c.routes} (each change waited for until the proxy serves it; both ends measured after ${c.settleMs / 1000} s idle and a full GC)`, '',
      '| | start | end | change |', '|---|---:|---:|---:|',
      `| control plane RSS MiB (after GC) | ${c.start.rssMiB} | ${c.end.rssMiB} | ${pct(c.end.rssMiB, c.start.rssMiB)} |`,
      `| control plane heap used MiB | ${c.start.heapUsedMiB} | ${c.end.heapUsedMiB} | ${pct(c.end.heapUsedMiB, c.start.heapUsedMiB)} |`,
      ...(c.proxyStartMiB !== undefined ? [`| built-in proxy RSS MiB | ${c.proxyStartMiB} | ${c.proxyEndMiB} | ${pct(c.proxyEndMiB!, c.proxyStartMiB)} |`] : []),
      '', `Each change took ${f0(median(c.roundMs))} ms (median) to reach the proxy.`, '');
  }
  return out.join('\n');
}

const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%`;

export function controlTargets(r: ControlResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const s1000 = r.serve.find((s) => s.routes === 1000);
  out.push({ target: 'control plane RSS at 1000 routes: ≤ 150 MiB', measured: s1000 ? `${s1000.settled.rssMiB} MiB settled, ${s1000.memory.rssMiB} MiB right after the load (proxy attached)` : 'not measured', met: s1000 ? s1000.settled.rssMiB <= 150 : undefined });
  const t10k = r.translate.find((t) => t.fixture === 'scale:10000');
  const ms = t10k ? t10k.coldMs.gatewayapi! + t10k.coldMs.xds! : undefined;
  out.push({ target: '10000 routes translated (gatewayapi + xds, cold) in < 2 s', measured: ms === undefined ? 'not measured' : `${(ms / 1000).toFixed(2)} s (load ${(t10k!.coldMs.load! / 1000).toFixed(2)} s and encoding ${(t10k!.coldMs.snapshot! / 1000).toFixed(2)} s besides)`, met: ms === undefined ? undefined : ms < 2000 });
  const rl = r.reload;
  const m = rl ? median(rl.appendMs) : undefined;
  const all = rl ? [...rl.appendMs, ...rl.newFileMs] : [];
  out.push({ target: 'file change to serving at 1000 routes: < 1 s (median of 10 changes)', measured: m === undefined ? 'not measured' : `${f0(median(all))} ms median (${f0(m)} ms for a route appended to the 1000-route file), ${f0(Math.max(...all))} ms max`, met: m === undefined ? undefined : median(all) < 1000 });
  const c = r.churn;
  const within = (a: number, b: number) => Math.abs(a - b) / b <= 0.1;
  out.push({ target: 'control plane memory after 50 add/remove rounds: within 10% of the start', measured: c ? `RSS ${pct(c.end.rssMiB, c.start.rssMiB)}, heap ${pct(c.end.heapUsedMiB, c.start.heapUsedMiB)}` : 'not measured', met: c ? within(c.end.rssMiB, c.start.rssMiB) && within(c.end.heapUsedMiB, c.start.heapUsedMiB) : undefined });
  return out;
}
