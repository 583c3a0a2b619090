// The status of every resource, Kubernetes-shaped, as the control plane serves it: the
// translator's conditions (same types and reasons as Envoy Gateway) merged across GatewayClasses,
// stamped with observedGeneration and a lastTransitionTime that moves only when a condition's
// status does, then the proxy-driven part laid over it: a Gateway is Programmed once its
// proxies have ACKed, and a proxy's NACK shows on the Gateway and on the resources it names.
import type { Condition } from '../api/meta.js';
import { formatProblem, type Place, type Problem } from '../api/place.js';
import type { AnyObject } from '../provider/object.js';
import type { ProviderSnapshot } from '../provider/file/provider.js';
import { objectId } from '../provider/file/manifests.js';
import { namedResources, programmedCondition, type KeyProgress } from './programmed.js';

/** One GatewayClass's translation, as far as status is concerned. */
export interface ClassStatus {
  /** The translated objects that carry a status (the translator's copies). */
  objects: AnyObject[];
  /** Gateway id (`Gateway ns/name`) → the IR key its proxies serve. */
  gatewayKeys: Map<string, string>;
}

export interface ResourceStatus {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; generation?: number; uid?: string; creationTimestamp?: unknown; resourceVersion?: string };
  status?: Record<string, unknown>;
  /** Where the object was read from. */
  place?: Place;
}

export interface ProblemView extends Problem {
  /** The problem on one line: `file:line (document n) Kind ns/name: field: message`. */
  text: string;
}

export interface StatusView {
  resources: ResourceStatus[];
  problems: ProblemView[];
}

/** The order resources are listed in: the Gateway API's, then Envoy Gateway's, then the rest. */
const kindOrder = [
  'GatewayClass', 'Gateway', 'XListenerSet', 'ListenerSet', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'ReferenceGrant', 'BackendTLSPolicy',
  'EnvoyProxy', 'Backend', 'ClientTrafficPolicy', 'BackendTrafficPolicy', 'SecurityPolicy', 'EnvoyExtensionPolicy', 'EnvoyPatchPolicy', 'HTTPRouteFilter',
];
const rank = (kind: string | undefined) => {
  const i = kindOrder.indexOf(kind ?? '');
  return i < 0 ? kindOrder.length : i;
};

const hostAddress = '127.0.0.1';

export class StatusBook {
  private provider: ProviderSnapshot | undefined;
  private readonly classes = new Map<string, ClassStatus>();
  private readonly progress = new Map<string, KeyProgress>();
  private readonly extraProblems = new Map<string, Problem[]>();
  /** Statuses later stages write (EnvoyPatchPolicies, from the xDS translation), by source. */
  private readonly stageStatuses = new Map<string, AnyObject[]>();
  /** Condition key → when its status last changed. */
  private readonly transitions = new Map<string, { status: string; time: string }>();
  /** Per object id, the status last stamped and the generation it was stamped for. */
  private readonly stamped = new Map<string, { status: object; generation: number | undefined }>();
  private cached: StatusView | undefined;
  /** The translators' statuses merged per object, before the proxies' part (kept across proxy events). */
  private base: Map<string, Record<string, any>> | undefined;

  constructor(private readonly now: () => Date = () => new Date()) {}

  setProvider(snapshot: ProviderSnapshot): void {
    this.provider = snapshot;
    this.cached = undefined;
  }

  setClass(name: string, status: ClassStatus | undefined): void {
    if (status) this.classes.set(name, status);
    else this.classes.delete(name);
    this.cached = undefined;
    this.base = undefined;
  }

  setProgress(irKey: string, progress: KeyProgress | undefined): void {
    if (progress) this.progress.set(irKey, progress);
    else this.progress.delete(irKey);
    this.cached = undefined;
  }

  /** Statuses written by a later stage, laid over the translator's (entries with the same ref replaced). */
  setStageStatuses(source: string, objects: AnyObject[] | undefined): void {
    if (objects?.length) this.stageStatuses.set(source, objects);
    else this.stageStatuses.delete(source);
    this.cached = undefined;
    this.base = undefined;
  }

  /** Problems found by a stage (e.g. a translation that failed), replacing that source's previous ones. */
  setProblems(source: string, problems: Problem[]): void {
    if (problems.length) this.extraProblems.set(source, problems);
    else this.extraProblems.delete(source);
    this.cached = undefined;
  }

  /** The IR key serving a Gateway (`Gateway namespace/name`). */
  irKeyOf(gatewayId: string): string | undefined {
    for (const c of this.classes.values()) {
      const key = c.gatewayKeys.get(gatewayId);
      if (key) return key;
    }
    return undefined;
  }

  /** Every IR key that Gateways map to, sorted. */
  keys(): string[] {
    const keys = new Set<string>();
    for (const c of this.classes.values()) for (const k of c.gatewayKeys.values()) keys.add(k);
    return [...keys].sort();
  }

  /** The Gateways (`namespace/name`) an IR key serves. */
  gatewaysOf(irKey: string): string[] {
    const out: string[] = [];
    for (const c of this.classes.values()) for (const [id, k] of c.gatewayKeys) if (k === irKey) out.push(id.slice('Gateway '.length));
    return out.sort();
  }

  progressOf(irKey: string): KeyProgress | undefined {
    return this.progress.get(irKey);
  }

  view(): StatusView {
    return (this.cached ??= this.compute());
  }

  /** Statuses from every class, merged per object, and those of later stages laid over them. */
  private computeBase(): Map<string, Record<string, any>> {
    const statuses = new Map<string, Record<string, any>>();
    for (const c of this.classes.values()) {
      for (const o of c.objects) {
        if (!o.status) continue;
        const id = objectId(o.kind ?? '', o.metadata.name, o.metadata.namespace);
        const prev = statuses.get(id);
        statuses.set(id, prev ? mergeStatus(prev, o.status) : structuredClone(o.status));
      }
    }
    for (const list of this.stageStatuses.values()) {
      for (const o of list) {
        if (!o.status) continue;
        const id = objectId(o.kind ?? '', o.metadata.name, o.metadata.namespace);
        const prev = statuses.get(id);
        statuses.set(id, prev ? mergeStatus(prev, o.status, true) : structuredClone(o.status));
      }
    }
    return statuses;
  }

  private compute(): StatusView {
    // The proxies' part changes often (every ACK): it is laid over copies of the few statuses it
    // touches, the merged base stays as it is.
    if (!this.base) {
      this.base = this.computeBase();
      this.forgetTransitions(this.base);
    }
    const base = this.base;
    const statuses = new Map(base);
    const copied = new Set<string>();
    this.overlayProxies((id) => {
      const s = statuses.get(id);
      if (!s || copied.has(id)) return s;
      copied.add(id);
      const copy = structuredClone(s);
      statuses.set(id, copy);
      return copy;
    });

    const resources: ResourceStatus[] = [];
    for (const [id, { object, place }] of this.provider?.objects ?? []) {
      const md = object.metadata;
      const r: ResourceStatus = {
        apiVersion: object.apiVersion,
        kind: object.kind,
        metadata: { name: md.name, namespace: md.namespace, generation: md.generation, uid: md.uid, creationTimestamp: md.creationTimestamp ?? undefined, resourceVersion: md.resourceVersion },
        place,
      };
      const status = statuses.get(id);
      // A status of the base that was stamped for this generation is as stamping would leave it:
      // only what is new since the last view (a translation, the proxies' overlay) is walked.
      if (status) {
        const last = this.stamped.get(id);
        r.status = last && last.status === status && last.generation === md.generation ? status : this.stamp(id, status, md.generation);
      }
      resources.push(r);
    }
    resources.sort((a, b) => rank(a.kind) - rank(b.kind) || cmp(a.kind, b.kind) || cmp(a.metadata.namespace, b.metadata.namespace) || cmp(a.metadata.name, b.metadata.name));

    const problems: ProblemView[] = [];
    for (const p of [...(this.provider?.problems ?? []), ...[...this.extraProblems.values()].flat()]) problems.push({ ...p, text: formatProblem(p) });
    return { resources, problems };
  }

  /**
   * What the serving side adds, as Envoy Gateway's provider does after translation: a
   * GatewayClass or Gateway the translator found nothing wrong with is Accepted; a Gateway's
   * Programmed condition and addresses come from its proxies; NACKs go on what they name.
   */
  private overlayProxies(editable: (id: string) => Record<string, any> | undefined): void {
    for (const c of this.classes.values()) {
      for (const o of c.objects) {
        if (o.kind !== 'GatewayClass') continue;
        const status = editable(objectId('GatewayClass', o.metadata.name, undefined));
        if (status) acceptUnlessRejected(status, 'The GatewayClass is accepted by this controller');
      }
      for (const [gatewayId, irKey] of c.gatewayKeys) {
        const status = editable(gatewayId);
        if (!status) continue;
        const progress = this.progress.get(irKey) ?? { irKey, proxies: [] };
        acceptUnlessRejected(status, 'The Gateway is served by proxies on this host');
        const conditions: Condition[] = status.conditions;
        const current = conditions.find((x) => x.type === 'Programmed');
        // The translator's own reasons for not programming a Gateway (invalid listeners...) stand.
        const translatorSaysNo = current && current.status === 'False' && !['AddressNotAssigned', 'Pending', 'Programmed'].includes(current.reason);
        if (!translatorSaysNo) {
          const next = { ...programmedCondition(progress), lastTransitionTime: null };
          if (current) Object.assign(current, next);
          else conditions.push(next as Condition);
        }
        if (!status.addresses?.length && progress.proxies.length) status.addresses = [{ type: 'IPAddress', value: hostAddress }];

        for (const proxy of progress.proxies) {
          if (!proxy.nack) continue;
          const [ns, name] = gatewayId.slice('Gateway '.length).split('/');
          for (const r of proxy.named ?? namedResources(proxy.nack.message)) {
            const s = editable(objectId(r.kind, r.name, r.namespace));
            const entries: any[] = s?.parents ?? s?.ancestors ?? [];
            for (const e of entries) {
              const ref = e.parentRef ?? e.ancestorRef;
              if (!ref || (ref.kind ?? 'Gateway') !== 'Gateway' || ref.name !== name || (ref.namespace ?? r.namespace) !== ns) continue;
              const list: Condition[] = (e.conditions ??= []);
              const cond = { type: 'Programmed', status: 'False' as const, reason: 'Invalid', message: `Proxy ${proxy.nodeId} rejected its configuration: ${proxy.nack.message}`, lastTransitionTime: null };
              const i = list.findIndex((x) => x.type === 'Programmed');
              if (i >= 0) list[i] = cond;
              else list.push(cond);
            }
          }
        }
      }
    }
  }

  /** Drops the transition times of objects that have no status any more (removed routes and policies). */
  private forgetTransitions(statuses: ReadonlyMap<string, unknown>): void {
    for (const key of this.transitions.keys()) {
      if (!statuses.has(key.slice(0, key.indexOf('|')))) this.transitions.delete(key);
    }
    for (const id of this.stamped.keys()) if (!statuses.has(id)) this.stamped.delete(id);
  }

  /** observedGeneration on every condition; lastTransitionTime kept while the status holds. */
  private stamp(id: string, status: Record<string, any>, generation: number | undefined): Record<string, any> {
    const now = this.now().toISOString().replace(/\.\d+Z$/, 'Z');
    const visit = (v: any, path: string): void => {
      if (Array.isArray(v)) {
        v.forEach((item, i) => visit(item, `${path}[${entryKey(item) ?? i}]`));
        return;
      }
      if (!v || typeof v !== 'object') return;
      for (const [k, child] of Object.entries(v)) {
        if (k === 'conditions' && Array.isArray(child)) {
          for (const cond of child as Condition[]) {
            const key = `${id}|${path}|${cond.type}`;
            const seen = this.transitions.get(key);
            const time = seen && seen.status === cond.status ? seen.time : now;
            this.transitions.set(key, { status: cond.status, time });
            cond.lastTransitionTime = time;
            if (generation !== undefined) cond.observedGeneration = generation;
          }
        } else visit(child, `${path}.${k}`);
      }
    };
    visit(status, '');
    this.stamped.set(id, { status, generation });
    return status;
  }
}

/** Adds Accepted=True in front of the conditions, unless the translator set Accepted already. */
function acceptUnlessRejected(status: Record<string, any>, message: string): void {
  const conditions: Condition[] = (status.conditions ??= []);
  if (conditions.some((x) => x.type === 'Accepted')) return;
  conditions.unshift({ type: 'Accepted', status: 'True', reason: 'Accepted', message, lastTransitionTime: null });
}

/** A stable key for a status list entry: its parentRef, ancestorRef or name. */
function entryKey(item: any): string | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const ref = item.parentRef ?? item.ancestorRef;
  if (ref) return `${ref.kind ?? ''}/${ref.namespace ?? ''}/${ref.name}/${ref.sectionName ?? ''}/${ref.port ?? ''}|${item.controllerName ?? ''}`;
  return typeof item.name === 'string' ? item.name : undefined;
}

/**
 * Two statuses of one object: route parents and policy ancestors add up; with `replace`, an
 * entry of `b` takes the place of `a`'s entry for the same ref (a later stage knows better).
 */
function mergeStatus(a: Record<string, any>, b: Record<string, any>, replace = false): Record<string, any> {
  for (const list of ['parents', 'ancestors']) {
    if (!Array.isArray(b[list])) continue;
    const entries: any[] = (a[list] ??= []);
    for (const e of b[list]) {
      const i = entries.findIndex((x) => entryKey(x) === entryKey(e));
      if (i < 0) entries.push(structuredClone(e));
      else if (replace) entries[i] = structuredClone(e);
    }
  }
  return a;
}

const cmp = (a: string | undefined, b: string | undefined) => ((a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0);
