// The xDS stage of the pipeline: each IR key's xDS IR → Envoy resources → one snapshot in the
// xDS server's cache, served to the proxies whose node cluster is that key. A key whose
// translation throws keeps serving its last good snapshot (its Gateways say so in status); a
// resource that does not encode is left out of the snapshot and reported, the rest is served.
import { translateXds } from '../xds/translator/index.js';
import { makeSnapshot, type Snapshot, type XdsServer } from '../xds/server/index.js';
import { TYPE_URL } from '../xds/proto/index.js';
import type { Problem } from '../api/place.js';
import type { Changes } from '../store/store.js';
import type { Metrics } from '../admin/metrics.js';
import type { IRValue } from './gateway-stage.js';
import type { Logger } from './log.js';
import type { StatusBook } from './status.js';

export interface XdsStageOptions {
  controllerNamespace?: string;
  dnsDomain?: string;
}

/** What the stage reports about a key after each attempt. */
export interface XdsOutcome {
  irKey: string;
  /** Version of the snapshot now served (the last good one when this attempt failed). */
  version?: string;
  /** Why the latest attempt failed, when it did. */
  error?: string;
}

let versionCounter = 0;
/** Versions unique across restarts too: a proxy never mistakes a new snapshot for one it holds. */
const nextVersion = () => `${Date.now().toString(36)}-${++versionCounter}`;

export class XdsStage {
  private readonly outcomes = new Map<string, XdsOutcome>();

  constructor(
    private readonly server: XdsServer,
    private readonly options: XdsStageOptions,
    private readonly status: StatusBook,
    private readonly log: Logger,
    private readonly onOutcome: (outcome: XdsOutcome | undefined, irKey: string) => void,
    private readonly metrics?: Metrics,
  ) {}

  outcome(irKey: string): XdsOutcome | undefined {
    return this.outcomes.get(irKey);
  }

  readonly handle = (changes: Changes<IRValue>): void => {
    for (const [irKey, value] of changes) {
      if (value) this.translateKey(irKey, value);
      else this.removeKey(irKey);
    }
  };

  private removeKey(irKey: string): void {
    this.server.cache.delete(irKey);
    this.outcomes.delete(irKey);
    this.status.setProblems(`xds/${irKey}`, []);
    this.onOutcome(undefined, irKey);
  }

  private translateKey(irKey: string, value: IRValue): void {
    const started = performance.now();
    const problems: Problem[] = [];
    const place = { resource: `xDS ${irKey}` };
    let snapshot: Snapshot;
    try {
      const t = translateXds(value.ir, { controllerNamespace: this.options.controllerNamespace, dnsDomain: this.options.dnsDomain });
      for (const e of t.errors) problems.push({ message: e, place });
      const r = t.resources;
      const made = makeSnapshot(nextVersion(), {
        [TYPE_URL.cluster]: r.clusters,
        [TYPE_URL.endpoint]: r.endpoints,
        [TYPE_URL.listener]: r.listeners,
        [TYPE_URL.route]: r.routes,
        [TYPE_URL.secret]: r.secrets,
      });
      for (const p of made.problems) problems.push({ message: `${p.resource}: ${p.field ? `${p.field}: ` : ''}${p.message} (left out)`, place });
      snapshot = made.snapshot;
    } catch (err) {
      const previous = this.outcomes.get(irKey);
      const error = (err as Error).message;
      this.metrics?.translations.inc({ stage: 'xds', result: 'error' });
      this.log.error(`${irKey}: xDS translation failed, proxies keep the last good configuration: ${(err as Error).stack ?? error}`);
      const outcome = { irKey, version: previous?.version, error };
      this.outcomes.set(irKey, outcome);
      this.status.setProblems(`xds/${irKey}`, [{ message: `xDS translation failed: ${error}`, place }]);
      this.onOutcome(outcome, irKey);
      return;
    }
    this.metrics?.translations.inc({ stage: 'xds', result: problems.length ? 'partial' : 'ok' });
    this.metrics?.translationSeconds.observe({ stage: 'xds' }, (performance.now() - started) / 1000);
    for (const p of problems) this.log.warn(`${irKey}: ${p.message}`);
    this.status.setProblems(`xds/${irKey}`, problems);
    const outcome = { irKey, version: snapshot.version };
    this.outcomes.set(irKey, outcome);
    // Outcome first: the server pushes on set, and ACKs may come back before we return.
    this.onOutcome(outcome, irKey);
    this.server.cache.set(irKey, snapshot);
    this.metrics?.snapshots.inc({ ir_key: irKey });
    const counts = [...snapshot.types.values()].map((t) => `${t.resources.size} ${t.typeUrl.slice(t.typeUrl.lastIndexOf('.') + 1)}`).join(', ');
    this.log.info(`${irKey}: serving version ${snapshot.version} (${counts})`);
  }
}
