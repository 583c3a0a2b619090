// The resources one translation produces, per xDS type, in creation order (Envoy Gateway's
// order, which the expected outputs follow), with lookups by name.
import type { Msg } from './util.js';

export interface XdsResources {
  listeners: Msg[];
  routes: Msg[];
  clusters: Msg[];
  endpoints: Msg[];
  secrets: Msg[];
}

export type ResourceKind = keyof XdsResources;

/** The type URL of each resource kind, as EnvoyPatchPolicies and xDS name them. */
export const typeUrls: Record<ResourceKind, string> = {
  listeners: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  routes: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  clusters: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secrets: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
};

/** The name of a resource (ClusterLoadAssignments are named by their cluster). */
export function resourceName(kind: ResourceKind, r: Msg): string {
  return kind === 'endpoints' ? r.clusterName : r.name;
}

/** Checks a resource as Envoy would accept it; returns the problems, empty when valid. */
export type ResourceValidator = (kind: ResourceKind, r: Msg) => string[];

export class ResourceTable {
  /** Resources that failed validation are not added; their problems are recorded here. */
  readonly rejected: string[] = [];

  constructor(private readonly validator?: ResourceValidator) {}

  readonly out: XdsResources = { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [] };
  private readonly byName: Record<ResourceKind, Map<string, Msg>> = {
    listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map(), secrets: new Map(),
  };

  get(kind: ResourceKind, name: string): Msg | undefined {
    return this.byName[kind].get(name);
  }

  has(kind: ResourceKind, name: string): boolean {
    return this.byName[kind].has(name);
  }

  /**
   * Adds a resource; a second resource of the same kind and name is ignored (first wins), and an
   * invalid one is left out (its problems recorded), as Envoy would reject it.
   */
  add(kind: ResourceKind, r: Msg): boolean {
    const name = resourceName(kind, r);
    if (this.byName[kind].has(name)) return false;
    if (!this.valid(kind, r)) return false;
    this.byName[kind].set(name, r);
    this.out[kind].push(r);
    return true;
  }

  /** Appends a resource even if one of that name exists (Envoy Gateway repeats some secrets). */
  append(kind: ResourceKind, r: Msg): boolean {
    if (!this.valid(kind, r)) return false;
    const name = resourceName(kind, r);
    if (!this.byName[kind].has(name)) this.byName[kind].set(name, r);
    this.out[kind].push(r);
    return true;
  }

  /** Checks a resource already in the table (after patching); records its problems. */
  check(kind: ResourceKind, r: Msg): boolean {
    return this.valid(kind, r);
  }

  private valid(kind: ResourceKind, r: Msg): boolean {
    const problems = this.validator?.(kind, r) ?? [];
    if (!problems.length) return true;
    this.rejected.push(`validation failed for xds resource ${typeUrls[kind].split('/')[1]} ${JSON.stringify(resourceName(kind, r))}: ${problems.join('; ')}`);
    return false;
  }

  /** Replaces the whole list of a kind (after patching), keeping the index in step. */
  replaceAll(kind: ResourceKind, list: Msg[]): void {
    this.out[kind] = list;
    const m = new Map<string, Msg>();
    for (const r of list) m.set(resourceName(kind, r), r);
    this.byName[kind] = m;
  }
}
