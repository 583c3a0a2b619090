// End-to-end test support: real `egts echo` backends and a real `egts proxy` process over
// loopback, and a plain HTTP client. Every process is killed when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/corpus.js';

const egts = join(repoRoot, 'bin', 'egts.js');
const children = new Set<ChildProcess>();

process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

export interface Proc {
  proc: ChildProcess;
  output(): string;
  close(): Promise<void>;
}

export function startProcess(args: string[], ready: (out: string) => boolean, timeoutMs = 10000): Promise<Proc> {
  const proc = spawn(process.execPath, [egts, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  const onData = (d: Buffer) => { out += d.toString(); };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const p: Proc = {
    proc,
    output: () => out,
    close: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) { children.delete(proc); resolve(); return; }
      proc.once('exit', () => { children.delete(proc); resolve(); });
      proc.kill('SIGKILL');
    }),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { void p.close(); reject(new Error(`timed out starting egts ${args[0]}: ${out}`)); }, timeoutMs);
    const check = () => { if (ready(out)) { clearTimeout(timer); proc.stdout!.off('data', check); proc.stderr!.off('data', check); resolve(p); } };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    proc.once('exit', (code) => { clearTimeout(timer); if (!ready(out)) reject(new Error(`egts ${args[0]} exited (${code}): ${out}`)); });
  });
}

export interface Echo extends Proc {
  name: string;
  http: number;
  https?: number;
  tcp?: number;
  tlsTcp?: number;
  udp?: number;
}

/** Starts `egts echo --name <name>` with an HTTP port (and whatever else args ask for). */
export async function startEcho(name: string, args: string[] = ['--http', '0']): Promise<Echo> {
  const p = await startProcess(['echo', '--name', name, '--host', '127.0.0.1', ...args], (o) => o.includes('\n') && o.trim().startsWith('{'));
  const ports = JSON.parse(p.output().split('\n')[0]!);
  return { ...p, ...ports, name };
}

export interface ProxyProc extends Proc {
  /** Bound port by listener name. */
  ports: Record<string, number>;
  configPath: string;
}

/** Writes the config to a temporary file and starts `egts proxy -c` on it. */
export async function startProxy(config: object | string, extraArgs: string[] = []): Promise<ProxyProc> {
  const dir = mkdtempSync(join(tmpdir(), 'egts-e2e-'));
  const configPath = join(dir, typeof config === 'string' ? 'config.yaml' : 'config.json');
  writeFileSync(configPath, typeof config === 'string' ? config : JSON.stringify(config));
  const p = await startProcess(['proxy', '-c', configPath, ...extraArgs], (o) => o.includes('egts proxy: ready'));
  const ports: Record<string, number> = {};
  for (const m of p.output().matchAll(/listener (\S+) on port (\d+)/g)) ports[m[1]!] = Number(m[2]);
  return { ...p, ports, configPath };
}

/** Starts the proxy and expects it to refuse the configuration; returns its output. */
export async function proxyRejects(config: object): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'egts-e2e-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [egts, 'proxy', '-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    proc.on('exit', (code) => resolve(`exit ${code}\n${out}`));
  });
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  raw: Buffer;
  json(): any;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

export function request(port: number, o: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...(o.headers ?? {}) };
    if (o.host) headers.host = o.host;
    const req = http.request({ host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path ?? '/', headers, agent: o.agent ?? false, timeout: o.timeoutMs ?? 10000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = raw.toString();
        resolve({ status: res.statusCode!, headers: res.headers, body, raw, json: () => JSON.parse(body) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(o.body);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
