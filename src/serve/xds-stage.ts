// The xDS stage of the pipeline: each IR key's xDS IR → Envoy resources (EnvoyPatchPolicies
// applied, each resource checked against Envoy's rules) → one snapshot in the xDS server's
// cache, served to the proxies whose node cluster is that key. Keys are independent: one that
// fails keeps serving its last good snapshot (its Gateways say so in status), the others go on.
import { translateXds } from '../xds/translator/index.js';
import type { GlobalRateLimitSettings, WasmCacheAddress } from '../xds/translator/context.js';
import { cachedProtoValidator } from '../xds/translator/validate.js';
import { CheckCache } from '../xds/proto/check-cache.js';
import { makeSnapshot, type Snapshot, type XdsServer } from '../xds/server/index.js';
import { TYPE_URL } from '../xds/proto/index.js';
import type { Changes } from '../store/store.js';
import type { Metrics } from '../admin/metrics.js';
import type { IRValue } from './gateway-stage.js';
import type { Logger } from './log.js';
import type { StatusBook } from './status.js';
import type { AnyObject } from '../provider/object.js';

export interface XdsStageOptions {
  controllerNamespace?: string;
  dnsDomain?: string;
  /**
   * Proxies run as processes on one host: the readiness listener that Kubernetes probes
   * (0.0.0.0:19003 in every proxy) is left out, as the proxies of several Gateways would all
   * claim its port; readiness is the control plane's (ACKs) and the supervisor's business.
   */
  onHost?: boolean;
  /** The global rate limit service the proxies call (set once serve has started it). */
  globalRateLimit?: GlobalRateLimitSettings;
  /** The Wasm module cache's server (set once serve has started it). */
  wasmCache?: WasmCacheAddress;
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
  /** The errors of the snapshot served for each key (resources it left out). */
  private readonly servedErrors = new Map<string, Set<string>>();
  /** Per key, the resources checked and encoded last time: an edit re-encodes what it changed. */
  private readonly checked = new Map<string, CheckCache>();

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
    this.servedErrors.delete(irKey);
    this.checked.delete(irKey);
    this.status.setProblems(`xds/${irKey}`, []);
    this.status.setStageStatuses(`xds/${irKey}`, undefined);
    this.onOutcome(undefined, irKey);
  }

  private translateKey(irKey: string, value: IRValue): void {
    const started = performance.now();
    const place = { resource: `xDS ${irKey}` };
    let errors: string[];
    let snapshot: Snapshot | undefined;
    let patchStatuses: AnyObject[] | undefined;
    let cache = this.checked.get(irKey);
    if (!cache) this.checked.set(irKey, (cache = new CheckCache()));
    cache.nextGeneration();
    try {
      // Resources Envoy would reject are left out, each with an error naming it and the field.
      const ir = this.options.onHost && value.ir.readyListener ? { ...value.ir, readyListener: undefined } : value.ir;
      const t = translateXds(ir, { controllerNamespace: this.options.controllerNamespace, dnsDomain: this.options.dnsDomain, globalRateLimit: this.options.globalRateLimit, wasmCache: this.options.wasmCache, validator: cachedProtoValidator(cache) });
      errors = [...t.errors];
      patchStatuses = t.envoyPatchPolicies?.map((p) => ({ kind: 'EnvoyPatchPolicy', metadata: { name: p.name, namespace: p.namespace }, status: p.status }));
      const r = t.resources;
      const made = makeSnapshot(nextVersion(), {
        [TYPE_URL.cluster]: r.clusters,
        [TYPE_URL.endpoint]: r.endpoints,
        [TYPE_URL.listener]: r.listeners,
        [TYPE_URL.route]: r.routes,
        [TYPE_URL.secret]: r.secrets,
      }, cache);
      for (const p of made.problems) errors.push(`${p.resource}: ${p.field ? `${p.field}: ` : ''}${p.message}`);
      snapshot = made.snapshot;
    } catch (err) {
      this.log.error(`${irKey}: xDS translation failed: ${(err as Error).stack ?? String(err)}`);
      errors = [`xDS translation failed: ${(err as Error).message}`];
    }
    this.metrics?.translationSeconds.observe({ stage: 'xds' }, (performance.now() - started) / 1000);

    // A translation that breaks something new (an error the served snapshot did not have) is not
    // served: the proxies keep the last good snapshot, so a bad edit never takes away what worked.
    // Errors the served snapshot already had do not hold back later edits. The first snapshot
    // of a key is served with whatever translated.
    const served = this.outcomes.get(irKey);
    const known = this.servedErrors.get(irKey) ?? new Set<string>();
    const fresh = errors.filter((e) => !known.has(e));
    if (!snapshot || (fresh.length && served?.version !== undefined)) {
      this.metrics?.translations.inc({ stage: 'xds', result: 'error' });
      const error = fresh.length ? fresh.join('; ') : errors.join('; ');
      for (const e of fresh) this.log.warn(`${irKey}: ${e}`);
      this.log.warn(`${irKey}: the new configuration is not served; proxies keep version ${served?.version ?? '(none)'}`);
      const outcome = { irKey, version: served?.version, error };
      this.outcomes.set(irKey, outcome);
      this.status.setProblems(`xds/${irKey}`, errors.map((message) => ({ message, place })));
      this.onOutcome(outcome, irKey);
      return;
    }
    this.metrics?.translations.inc({ stage: 'xds', result: errors.length ? 'partial' : 'ok' });
    for (const e of fresh) this.log.warn(`${irKey}: ${e} (left out)`);
    this.servedErrors.set(irKey, new Set(errors));
    this.status.setProblems(`xds/${irKey}`, errors.map((message) => ({ message: `${message} (left out)`, place })));
    this.status.setStageStatuses(`xds/${irKey}`, patchStatuses);
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
