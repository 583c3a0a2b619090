// One supervised child process: started, restarted with exponential backoff when it exits on
// its own (a crash, kill -9), and stopped gracefully (SIGTERM, then SIGKILL once the drain time
// is over). The backoff resets once the process has stayed up for a while, so that a proxy
// killed once a day comes back at once, while one that crashes in a loop does not spin.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ProcessSpec {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface SupervisorOptions {
  /** First restart delay (default 250 ms), doubled on every further crash... */
  initialBackoffMs?: number;
  /** ...up to this (default 30 s). */
  maxBackoffMs?: number;
  /** Running this long resets the backoff (default 30 s). */
  stableAfterMs?: number;
  /** Time between SIGTERM and SIGKILL on stop (default 15 s). */
  drainTimeoutMs?: number;
  /** Receives the child's output, one line at a time. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Lifecycle events, for logs and metrics. */
  onEvent?: (event: SupervisorEvent) => void;
}

export type SupervisorEvent =
  | { type: 'started'; pid: number; restarts: number }
  | { type: 'exited'; pid: number; code: number | null; signal: NodeJS.Signals | null; expected: boolean }
  | { type: 'restart-scheduled'; delayMs: number; restarts: number }
  | { type: 'spawn-failed'; message: string };

export type SupervisorState = 'idle' | 'running' | 'backoff' | 'stopping' | 'stopped';

export class Supervisor {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private startedAt = 0;
  private stopping: Promise<void> | undefined;
  /** Restarts since the supervisor started (not reset by stability). */
  restarts = 0;
  state: SupervisorState = 'idle';

  constructor(readonly spec: ProcessSpec, private readonly options: SupervisorOptions = {}) {
    this.backoffMs = options.initialBackoffMs ?? 250;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.launch();
  }

  private launch(): void {
    this.timer = undefined;
    const { command, args, env, cwd } = this.spec;
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.options.onEvent?.({ type: 'spawn-failed', message: (err as Error).message });
      this.scheduleRestart();
      return;
    }
    this.child = child;
    this.state = 'running';
    this.startedAt = Date.now();
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = createInterface({ input: child[stream]!, crlfDelay: Infinity });
      lines.on('line', (line) => this.options.onLine?.(line, stream));
    }
    child.once('spawn', () => this.options.onEvent?.({ type: 'started', pid: child.pid!, restarts: this.restarts }));
    child.once('error', (err) => {
      // Spawning failed (no such command): no 'exit' follows.
      if (child.pid === undefined) {
        this.options.onEvent?.({ type: 'spawn-failed', message: err.message });
        this.child = undefined;
        if (this.state === 'running') this.scheduleRestart();
      }
    });
    child.once('exit', (code, signal) => {
      const expected = this.state === 'stopping' || this.state === 'stopped';
      this.options.onEvent?.({ type: 'exited', pid: child.pid!, code, signal, expected });
      this.child = undefined;
      if (!expected) this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    const initial = this.options.initialBackoffMs ?? 250;
    if (Date.now() - this.startedAt >= (this.options.stableAfterMs ?? 30_000)) this.backoffMs = initial;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
    this.restarts++;
    this.state = 'backoff';
    this.options.onEvent?.({ type: 'restart-scheduled', delayMs, restarts: this.restarts });
    this.timer = setTimeout(() => this.launch(), delayMs);
  }

  /** Stops the process: SIGTERM (it drains), SIGKILL after the drain timeout. Idempotent. */
  stop(drainTimeoutMs = this.options.drainTimeoutMs ?? 15_000): Promise<void> {
    if (this.stopping) return this.stopping;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state = 'stopped';
      return (this.stopping = Promise.resolve());
    }
    this.state = 'stopping';
    this.stopping = new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), drainTimeoutMs);
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(kill);
        this.state = 'stopped';
        resolve();
      };
      // 'close' comes once its output is read to the end; a grandchild holding the pipes open
      // must not keep us waiting, hence the bound after 'exit'.
      child.once('close', done);
      child.once('exit', () => setTimeout(done, 1000).unref());
      child.kill('SIGTERM');
    });
    return this.stopping;
  }
}
