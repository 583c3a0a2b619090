// The proxy benchmark's results: their shape (bench/results/proxy.json), the tables, and the
// targets of issue 6 checked against them. Ratios compare figures from the same run only.
import type { MachineInfo } from '../common/machine.js';
import type { Scenario } from './scenarios.js';

export interface ProxyRun {
  scenario: string;
  peer: string;
  connections: number;
  /** Set for the fixed-rate runs. */
  rate?: number;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** CPU seconds the proxy used per 10,000 requests (user + system, all its processes). */
  cpuPer10k?: number;
  rssMiB?: number;
  errors?: number;
  non2xx?: number;
  error?: string;
  /** The 1-minute load average when the run ended. */
  load?: number;
  /** Every repetition (the figures above are the median one's). */
  samples?: { rps: number; p50Ms: number; p99Ms: number; cpuPer10k?: number }[];
}

export interface ProxyResults {
  machine: MachineInfo;
  settings: { seconds: number; warmup: number; repeat?: number; proxyCpu: string; loadCpu: string; fixedRate: number };
  scenarios: Scenario[];
  runs: ProxyRun[];
  fixed: ProxyRun[];
}

export const PEER_LABELS: Record<string, string> = {
  direct: 'direct (no proxy)',
  egts: '**egts proxy**',
  nginx: 'nginx',
  haproxy: 'HAProxy',
  'node-http': 'node:http proxy',
  fastify: '@fastify/http-proxy',
};
const NODE_PEERS = ['node-http', 'fastify'];

const cell = (x: number | undefined, digits = 0) => (x === undefined ? '—' : digits ? x.toFixed(digits) : String(x));

export function proxyTable(r: ProxyResults): string {
  const lines: string[] = [];
  for (const s of r.scenarios) {
    const rows = r.runs.filter((x) => x.scenario === s.id);
    if (!rows.length) continue;
    lines.push(`#### ${s.title}`, '', '| peer | requests/s | p50 ms | p99 ms | proxy CPU-s / 10k req | requests per proxy CPU-second | proxy RSS MiB |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const x of rows) {
      if (x.error) { lines.push(`| ${PEER_LABELS[x.peer] ?? x.peer} | ${x.error.startsWith('n/a') ? x.error : `failed: ${x.error.replaceAll('|', '/').replaceAll('\n', ' ')}`} | | | | | |`); continue; }
      const errs = x.errors || x.non2xx ? ` (${x.errors} socket errors, ${x.non2xx} non-2xx)` : '';
      lines.push(`| ${PEER_LABELS[x.peer] ?? x.peer} | ${cell(x.rps)}${errs} | ${cell(x.p50Ms, 2)} | ${cell(x.p99Ms, 2)} | ${cell(x.cpuPer10k, 3)} | ${x.cpuPer10k ? Math.round(10_000 / x.cpuPer10k) : '—'} | ${cell(x.rssMiB, 1)} |`);
    }
    lines.push('');
  }
  if (r.fixed.length) {
    const direct = r.fixed.find((x) => x.peer === 'direct' && !x.error);
    lines.push(`#### Latency at a fixed ${r.settings.fixedRate} requests/s (1 route, 64 connections)`, '',
      '| peer | requests/s | p50 ms | p99 ms | added p99 ms (vs direct) |', '|---|---:|---:|---:|---:|');
    for (const x of r.fixed) {
      if (x.error) { lines.push(`| ${PEER_LABELS[x.peer] ?? x.peer} | failed: ${x.error} | | | |`); continue; }
      const added = direct && x.peer !== 'direct' ? (x.p99Ms! - direct.p99Ms!).toFixed(2) : '—';
      lines.push(`| ${PEER_LABELS[x.peer] ?? x.peer} | ${cell(x.rps)} | ${cell(x.p50Ms, 2)} | ${cell(x.p99Ms, 2)} | ${added} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export interface TargetCheck { target: string; measured: string; met: boolean | undefined }

export function proxyTargets(r: ProxyResults): TargetCheck[] {
  const rps = (scenario: string, peer: string) => r.runs.find((x) => x.scenario === scenario && x.peer === peer && !x.error)?.rps;
  const out: TargetCheck[] = [];
  const egts = rps('1-route-c64', 'egts');
  const nodeBest = Math.max(...NODE_PEERS.map((p) => rps('1-route-c64', p) ?? 0));
  const nginx = rps('1-route-c64', 'nginx');
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? a / b : undefined);
  const fmt = (x: number | undefined) => (x === undefined ? 'not measured' : `${x.toFixed(2)}x`);
  // Requests per CPU-second: what each would serve with its core to itself (a busy machine
  // takes CPU from whichever peer it happens to, the work per request stays).
  const eff = (peer: string) => { const c = r.runs.find((x) => x.scenario === '1-route-c64' && x.peer === peer && !x.error)?.cpuPer10k; return c ? 10_000 / c : undefined; };
  const nodeEff = Math.max(...NODE_PEERS.map((p) => eff(p) ?? 0)) || undefined;
  const effNote = (a: number | undefined, b: number | undefined) => (a && b ? `; per CPU-second ${(a / b).toFixed(2)}x` : '');
  const vsNode = ratio(egts, nodeBest || undefined);
  out.push({ target: 'proxy, 1 route, 64 connections: ≥ 1.5x the best Node.js peer', measured: `${fmt(vsNode)} (${egts ?? '—'} vs ${nodeBest || '—'} req/s${effNote(eff('egts'), nodeEff)})`, met: vsNode === undefined ? undefined : vsNode >= 1.5 });
  const vsNginx = ratio(egts, nginx);
  out.push({ target: 'proxy, 1 route, 64 connections: ≥ 0.5x nginx', measured: `${fmt(vsNginx)} (${egts ?? '—'} vs ${nginx ?? '—'} req/s${effNote(eff('egts'), eff('nginx'))})`, met: vsNginx === undefined ? undefined : vsNginx >= 0.5 });
  const direct = r.fixed.find((x) => x.peer === 'direct' && !x.error);
  const fe = r.fixed.find((x) => x.peer === 'egts' && !x.error);
  const added = direct && fe ? fe.p99Ms! - direct.p99Ms! : undefined;
  out.push({ target: `added p99 latency at ${r.settings.fixedRate} requests/s: < 1 ms`, measured: added === undefined ? 'not measured' : `${added.toFixed(2)} ms (p99 ${fe!.p99Ms} vs ${direct!.p99Ms} ms direct)`, met: added === undefined ? undefined : added < 1 });
  for (const [id, what] of [['1000-routes-c64', '1000 routes (last match)'], ['1000-vhosts-c64', '1000 virtual hosts']] as const) {
    const one = rps('1-route-c64', 'egts');
    const many = rps(id, 'egts');
    const q = ratio(many, one);
    out.push({ target: `${what}: ≥ 0.8x the 1-route throughput`, measured: `${fmt(q)} (${many ?? '—'} vs ${one ?? '—'} req/s)`, met: q === undefined ? undefined : q >= 0.8 });
  }
  return out;
}
