// The host infrastructure manager: one supervised proxy process per IR key, kept in line with
// the infra IR. A key that appears gets a proxy; a key that goes away has its proxy drained and
// stopped; a key whose process settings change (command line) has its proxy replaced. Routing
// changes never restart anything: they reach the running proxies over xDS.
import type { ProxyInfra } from '../../ir/infra.js';
import { Supervisor, type ProcessSpec, type SupervisorEvent, type SupervisorOptions } from './process.js';

/** Turns one IR key's infra into the process that serves it. */
export type ProxyCommand = (irKey: string, infra: ProxyInfra) => ProcessSpec;

export interface HostInfraOptions {
  command: ProxyCommand;
  supervisor?: Omit<SupervisorOptions, 'onLine' | 'onEvent'>;
  /** A proxy's output line; default: written to this process's stdout/stderr prefixed with the key. */
  onLine?: (irKey: string, line: string, stream: 'stdout' | 'stderr') => void;
  onEvent?: (irKey: string, event: SupervisorEvent) => void;
}

export interface ProxyProcessInfo {
  irKey: string;
  pid?: number;
  state: Supervisor['state'];
  restarts: number;
  command: string[];
}

function sameSpec(a: ProcessSpec, b: ProcessSpec): boolean {
  return a.command === b.command && a.cwd === b.cwd && a.args.length === b.args.length && a.args.every((x, i) => x === b.args[i]) && JSON.stringify(a.env ?? null) === JSON.stringify(b.env ?? null);
}

export class HostInfraManager {
  private readonly proxies = new Map<string, Supervisor>();
  private readonly stopping = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: HostInfraOptions) {}

  /** Applies the infra of some keys (`undefined`: the key is gone). */
  async apply(changes: ReadonlyMap<string, ProxyInfra | undefined>): Promise<void> {
    if (this.closed) return;
    const waits: Promise<void>[] = [];
    for (const [irKey, infra] of changes) {
      const current = this.proxies.get(irKey);
      if (!infra) {
        if (current) waits.push(this.retire(irKey, current));
        continue;
      }
      const spec = this.options.command(irKey, infra);
      if (current && sameSpec(current.spec, spec)) continue;
      // A replaced proxy is stopped before its successor starts: both would bind the same ports.
      if (current) await this.retire(irKey, current);
      if (this.closed) return;
      this.launch(irKey, spec);
    }
    await Promise.all(waits);
  }

  private launch(irKey: string, spec: ProcessSpec): void {
    const onLine = this.options.onLine ?? defaultOnLine;
    const supervisor = new Supervisor(spec, {
      ...this.options.supervisor,
      onLine: (line, stream) => onLine(irKey, line, stream),
      onEvent: (event) => this.options.onEvent?.(irKey, event),
    });
    this.proxies.set(irKey, supervisor);
    supervisor.start();
  }

  private retire(irKey: string, supervisor: Supervisor, drainTimeoutMs?: number): Promise<void> {
    if (this.proxies.get(irKey) === supervisor) this.proxies.delete(irKey);
    const done = supervisor.stop(drainTimeoutMs);
    this.stopping.add(done);
    void done.finally(() => this.stopping.delete(done));
    return done;
  }

  list(): ProxyProcessInfo[] {
    return [...this.proxies].map(([irKey, s]) => ({ irKey, pid: s.pid, state: s.state, restarts: s.restarts, command: [s.spec.command, ...s.spec.args] }));
  }

  get(irKey: string): Supervisor | undefined {
    return this.proxies.get(irKey);
  }

  /** Drains and stops every proxy (graceful shutdown). */
  async close(drainTimeoutMs?: number): Promise<void> {
    this.closed = true;
    for (const [irKey, s] of [...this.proxies]) this.retire(irKey, s, drainTimeoutMs);
    await Promise.all([...this.stopping]);
  }
}

function defaultOnLine(irKey: string, line: string, stream: 'stdout' | 'stderr'): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[${irKey}] ${line}\n`);
}
