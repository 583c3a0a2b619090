// Processes under measurement: started pinned to a CPU (taskset), waited for until their port
// accepts connections, measured through /proc (CPU time and resident memory of the whole process
// tree, so a master/worker server counts whole), and always killed when the run ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { for (const c of live) c.kill('SIGKILL'); process.exit(130); });

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `cmd args` on the given CPUs (taskset -c), collecting its output. */
export function startPinned(name: string, cpuList: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn('taskset', ['-c', cpuList, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(child);
  let out = '';
  const keep = (d: Buffer) => { if (out.length < 64_000) out += d.toString(); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    name,
    pid: child.pid!,
    child,
    output: () => out,
    stop: () => new Promise<void>((resolve) => {
      live.delete(child);
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts a connection; fails if the process exits first. */
export async function waitForPort(p: Proc, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${p.name} exited: ${p.output().slice(-2000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${p.name} did not listen on ${port} within ${timeoutMs} ms: ${p.output().slice(-2000)}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid and all its descendants (taskset execs in place, so the pid is the program's). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(d));
      children.set(ppid, list);
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = [];
  const walk = (p: number) => { out.push(p); for (const c of children.get(p) ?? []) walk(c); };
  walk(pid);
  return out;
}

const TICKS = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)

/** User + system CPU seconds used so far by the processes. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch { /* exited */ }
  }
  return ticks / TICKS;
}

/** Resident set size of the processes, in bytes (VmRSS, or VmHWM for the peak). */
export function rssBytes(pids: number[], field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* exited */ }
  }
  return kb * 1024;
}

export const MiB = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
