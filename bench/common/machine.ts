// What a benchmark ran on: the figures only mean something next to the machine, the software
// versions and how busy the machine was while they were taken (the load average).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  commit: string;
  /** 1, 5 and 15 minute load averages when the run started and when it ended. */
  loadStart: number[];
  loadEnd?: number[];
  tools: Record<string, string>;
}

function version(cmd: string, args: string[], pick: RegExp): string {
  // nginx and wrk print their version on stderr (and wrk exits non-zero for -v): read both.
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) return 'absent';
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  return pick.exec(out)?.[1] ?? (out.split('\n')[0]!.trim() || 'unknown');
}

export function machineInfo(tools: string[] = []): MachineInfo {
  const known: Record<string, () => string> = {
    wrk: () => version('wrk', ['-v'], /wrk (\S+)/),
    nginx: () => version('nginx', ['-v'], /nginx\/(\S+)/),
    haproxy: () => version('haproxy', ['-v'], /version (\S+)/),
  };
  let commit = '';
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { /* not a checkout */ }
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    commit,
    loadStart: loadavg().map(round2),
    tools: Object.fromEntries(tools.map((t) => [t, known[t]?.() ?? 'unknown'])),
  };
}

export const round2 = (x: number) => Math.round(x * 100) / 100;

/** The machine line of a report. */
export function describeMachine(m: MachineInfo): string {
  const tools = Object.entries(m.tools).map(([k, v]) => `${k} ${v}`).join(', ');
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Linux ${m.kernel}; Node.js ${m.node}${tools ? `; ${tools}` : ''}; ` +
    `egts ${m.commit || '(unknown commit)'}; ${m.date.slice(0, 16).replace('T', ' ')} UTC; load average ${m.loadStart.join(' ')} at start` +
    `${m.loadEnd ? `, ${m.loadEnd.join(' ')} at end` : ''}`;
}
