// Demo backends: a Backend annotated `egts.dev/echo: "true"` is served by an `egts echo` that
// `egts serve` runs (and supervises) on the Backend's own endpoints: loopback IPs and Unix
// sockets. That is how the quick start is self-contained: its route goes through the gateway to
// a real backend process, named and addressed like any other, with nothing else to start. It is
// meant for demos and tests; only egts's own echo server is ever run this way.
import { isAbsolute } from 'node:path';
import type { AnyObject } from '../provider/object.js';
import { Supervisor } from '../infra/host/process.js';
import type { Logger } from './log.js';
import { childEnv, egtsBin } from './proxy-command.js';

export const echoAnnotation = 'egts.dev/echo';

interface EchoSpec {
  key: string;
  args: string[];
}

const loopback = (ip: string) => /^127\./.test(ip) || ip === '::1' || ip === 'localhost';

/** The echo servers the annotated Backends ask for, one per endpoint. */
export function echoSpecs(objects: Iterable<AnyObject>): { specs: EchoSpec[]; problems: string[] } {
  const specs: EchoSpec[] = [];
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'Backend' || o.metadata.annotations?.[echoAnnotation] !== 'true') continue;
    const id = `${o.metadata.namespace}/${o.metadata.name}`;
    (o.spec?.endpoints ?? []).forEach((e: any, i: number) => {
      const key = `${id}#${i}`;
      const name = ['--name', id];
      if (e.ip?.address && e.ip?.port) {
        if (!loopback(e.ip.address)) problems.push(`Backend ${id}: endpoint ${i}: ${e.ip.address} is not a loopback address; no echo server is started for it`);
        else specs.push({ key, args: [...name, '--host', e.ip.address, '--http', String(e.ip.port)] });
      } else if (e.fqdn?.hostname === 'localhost' && e.fqdn?.port) {
        specs.push({ key, args: [...name, '--host', '127.0.0.1', '--http', String(e.fqdn.port)] });
      } else if (typeof e.unix?.path === 'string' && isAbsolute(e.unix.path)) {
        specs.push({ key, args: [...name, '--unix', e.unix.path] });
      } else {
        problems.push(`Backend ${id}: endpoint ${i}: an echo server runs on a loopback IP, localhost or an absolute Unix socket path`);
      }
    });
  }
  return { specs, problems };
}

export class DemoBackends {
  private readonly running = new Map<string, Supervisor>();
  private reported = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Starts, keeps or stops echo servers to match the annotated Backends among `objects`. */
  apply(objects: Iterable<AnyObject>): void {
    const { specs, problems } = echoSpecs(objects);
    const fresh = new Set(problems);
    for (const p of problems) if (!this.reported.has(p)) this.log.warn(p);
    this.reported = fresh;
    const wanted = new Map(specs.map((s) => [s.key, s]));
    for (const [key, s] of this.running) {
      const w = wanted.get(key);
      if (w && w.args.join('\0') === s.spec.args.slice(2).join('\0')) continue;
      this.running.delete(key);
      void s.stop(1000);
    }
    for (const [key, spec] of wanted) {
      if (this.running.has(key)) continue;
      const s = new Supervisor({ command: process.execPath, args: [egtsBin, 'echo', ...spec.args], env: childEnv() }, {
        onLine: (line, stream) => {
          if (stream === 'stderr') this.log.warn(`echo ${key}: ${line}`);
        },
        onEvent: (e) => {
          if (e.type === 'started') this.log.info(`echo ${key}: started (pid ${e.pid}) ${spec.args.slice(2).join(' ')}`);
          if (e.type === 'exited' && !e.expected) this.log.warn(`echo ${key}: exited (${e.signal ?? `code ${e.code}`})`);
        },
      });
      this.running.set(key, s);
      s.start();
    }
  }

  list(): { key: string; pid?: number; state: string }[] {
    return [...this.running].map(([key, s]) => ({ key, pid: s.pid, state: s.state }));
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((s) => s.stop(1000)));
  }
}
