// Measuring helpers shared by the control-plane benchmark's child processes.
export interface Memory { rssMiB: number; heapUsedMiB: number; heapTotalMiB: number; externalMiB: number; arrayBuffersMiB: number }

export interface TranslateReport {
  fixture: string;
  objects: number;
  inputMB: number;
  /** Problems reported along the way (load, xDS, encoding): a fixture must have none. */
  problems: number;
  /** Routes and policies whose status says they were not accepted: a fixture must have none. */
  notAccepted: string[];
  output: Record<string, number>;
  coldMs: Record<string, number>;
  /** CPU time of the cold pass per stage. */
  coldCpuMs: Record<string, number>;
  warmMs: Record<string, number>;
  memory: Memory;
}

const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

/** Memory after a full collection (run with --expose-gc; the GC is run twice to settle weak refs). */
export function memoryAfterGC(): Memory {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers) };
}

interface Condition { type: string; status: string; reason?: string }
interface WithStatus { kind?: string; metadata?: { name?: string }; status?: { parents?: { conditions?: Condition[] }[]; ancestors?: { conditions?: Condition[] }[] } }

/** Routes and policies with an Accepted or ResolvedRefs condition that is not True. */
export function notAccepted(bundles: Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const b of bundles) {
    for (const v of Object.values(b)) {
      for (const o of (Array.isArray(v) ? v : []) as WithStatus[]) {
        const conds = [...(o.status?.parents ?? []), ...(o.status?.ancestors ?? [])].flatMap((p) => p.conditions ?? []);
        const bad = conds.find((c) => (c.type === 'Accepted' || c.type === 'ResolvedRefs') && c.status !== 'True');
        if (bad) out.push(`${o.kind} ${o.metadata?.name}: ${bad.type}=${bad.status} (${bad.reason})`);
      }
    }
  }
  return out;
}
