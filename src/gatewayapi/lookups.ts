// Indexes over the Resources bundle, built once per translation so that every reference
// (a backendRef to a Service, a certificateRef to a Secret, ...) resolves in constant time.
import type { ClusterTrustBundle, ConfigMap, EndpointSlice, Namespace, Secret, Service, ServiceImport } from '../api/core/index.js';
import type { Backend, HTTPRouteFilter } from '../api/envoygateway/index.js';
import type { LabelSelector, ReferenceGrant } from '../api/gatewayapi/index.js';
import type { KubernetesObject } from '../api/meta.js';
import type { Resources } from '../resources/resources.js';

const key = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

function index<T extends KubernetesObject>(list: readonly T[]): Map<string, T> {
  const m = new Map<string, T>();
  // Should a name appear twice, the later object replaces the earlier one.
  for (const o of list) m.set(key(o.metadata?.namespace, o.metadata?.name), o);
  return m;
}

export const ServiceNameLabel = 'kubernetes.io/service-name';
export const MultiClusterServiceNameLabel = 'multicluster.kubernetes.io/service-name';

export class Lookups {
  private readonly namespaces: Map<string, Namespace>;
  private readonly services: Map<string, Service>;
  private readonly serviceImports: Map<string, ServiceImport>;
  private readonly backends: Map<string, Backend>;
  private readonly secrets: Map<string, Secret>;
  private readonly configMaps: Map<string, ConfigMap>;
  private readonly clusterTrustBundles: Map<string, ClusterTrustBundle>;
  private readonly httpFilters: Map<string, HTTPRouteFilter>;
  private readonly slicesByService = new Map<string, EndpointSlice[]>();
  private readonly slicesByServiceImport = new Map<string, EndpointSlice[]>();
  readonly referenceGrants: readonly ReferenceGrant[];

  constructor(readonly resources: Resources) {
    this.namespaces = index(resources.namespaces);
    this.services = index(resources.services);
    this.serviceImports = index(resources.serviceImports);
    this.backends = index(resources.backends);
    this.secrets = index(resources.secrets);
    this.configMaps = index(resources.configMaps);
    this.clusterTrustBundles = index(resources.clusterTrustBundles);
    this.httpFilters = index(resources.httpFilters);
    this.referenceGrants = resources.referenceGrants;
    for (const s of resources.endpointSlices) {
      const labels = s.metadata?.labels ?? {};
      const ns = s.metadata?.namespace;
      if (labels[ServiceNameLabel]) push(this.slicesByService, key(ns, labels[ServiceNameLabel]), s);
      else if (labels[MultiClusterServiceNameLabel]) push(this.slicesByServiceImport, key(ns, labels[MultiClusterServiceNameLabel]), s);
    }
  }

  namespace(name: string): Namespace | undefined {
    return this.namespaces.get(key(undefined, name));
  }
  service(namespace: string, name: string): Service | undefined {
    return this.services.get(key(namespace, name));
  }
  serviceImport(namespace: string, name: string): ServiceImport | undefined {
    return this.serviceImports.get(key(namespace, name));
  }
  backend(namespace: string, name: string): Backend | undefined {
    return this.backends.get(key(namespace, name));
  }
  secret(namespace: string, name: string): Secret | undefined {
    return this.secrets.get(key(namespace, name));
  }
  configMap(namespace: string, name: string): ConfigMap | undefined {
    return this.configMaps.get(key(namespace, name));
  }
  clusterTrustBundle(name: string): ClusterTrustBundle | undefined {
    return this.clusterTrustBundles.get(key(undefined, name));
  }
  httpFilter(namespace: string, name: string): HTTPRouteFilter | undefined {
    return this.httpFilters.get(key(namespace, name));
  }
  /** The EndpointSlices of a Service (or of a ServiceImport, by the multi-cluster label). */
  endpointSlices(namespace: string, name: string, kind: string): EndpointSlice[] {
    const m = kind === 'ServiceImport' ? this.slicesByServiceImport : this.slicesByService;
    return m.get(key(namespace, name)) ?? [];
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/** Who refers across namespaces: the group/kind/namespace of the referring object. */
export interface RefFrom {
  group: string;
  kind: string;
  namespace: string;
}

/** What is referred to. */
export interface RefTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** Whether some ReferenceGrant in the target namespace allows this cross-namespace reference. */
export function referenceAllowed(grants: readonly ReferenceGrant[], from: RefFrom, to: RefTo): boolean {
  for (const g of grants) {
    if (g.metadata?.namespace !== to.namespace) continue;
    const spec: Partial<ReferenceGrant['spec']> = g.spec ?? {};
    const fromOk = (spec.from ?? []).some((f) => (f.namespace ?? '') === from.namespace && (f.group ?? '') === from.group && (f.kind ?? '') === from.kind);
    if (!fromOk) continue;
    const toOk = (spec.to ?? []).some((t) => (t.group ?? '') === to.group && (t.kind ?? '') === to.kind && (!t.name || t.name === to.name));
    if (toOk) return true;
  }
  return false;
}

/** Whether a label selector (matchLabels + matchExpressions) selects these labels. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values: string[] = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A selector the API server would reject (unknown operator, values where none are allowed...). */
export function selectorError(selector: LabelSelector | undefined): string | undefined {
  for (const e of selector?.matchExpressions ?? []) {
    const values: unknown[] = e.values ?? [];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return `values: Required value: must be specified when operator is "${e.operator}"`;
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) return `values: Forbidden: may not be specified when operator is "${e.operator}"`;
        break;
      default:
        return `"${e.operator}" is not a valid label selector operator`;
    }
  }
  return undefined;
}
