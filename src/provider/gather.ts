// From a provider's objects to what the translator takes: one Resources bundle per GatewayClass
// of our controller, as Envoy Gateway's providers gather them. A bundle holds the class, its
// Gateways, the ListenerSets and routes attached to them, the EnvoyProxies the class and its
// Gateways refer to, and everything a translation may look up (Services, Secrets, policies...,
// the translator decides what applies). Namespaces are those declared plus, as on a cluster,
// every namespace an object lives in (with the `kubernetes.io/metadata.name` label the API
// server puts on each), so that namespace selectors work without Namespace manifests.
import type { EnvoyProxy } from '../api/envoygateway/index.js';
import type { GatewayClass } from '../api/gatewayapi/index.js';
import type { Namespace } from '../api/core/index.js';
import { addObject, emptyResources, listOfKind, sortResources, compareByAge, type Resources } from '../resources/resources.js';
import type { AnyObject } from './object.js';

const GatewayGroup = 'gateway.networking.k8s.io';
const EnvoyGatewayGroup = 'gateway.envoyproxy.io';
const nameLabel = 'kubernetes.io/metadata.name';

export interface GatheredClass {
  /** The GatewayClass name (the bundle's key). */
  name: string;
  resources: Resources;
}

const group = (apiVersion: unknown) => {
  const s = String(apiVersion ?? '');
  const i = s.lastIndexOf('/');
  return i < 0 ? '' : s.slice(0, i);
};

/** Gathers one bundle per GatewayClass whose controllerName is ours, oldest class first. */
export function gatherResources(objects: Iterable<AnyObject>, controllerName: string): GatheredClass[] {
  const classes: AnyObject[] = [];
  const envoyProxies = new Map<string, AnyObject>();
  const shared = emptyResources();
  const namespaces = new Map<string, AnyObject>();
  const usedNamespaces = new Set<string>();
  for (const o of objects) {
    if (o.metadata.namespace) usedNamespaces.add(o.metadata.namespace);
    if (o.kind === 'GatewayClass' && group(o.apiVersion) === GatewayGroup) {
      if (o.spec?.controllerName === controllerName) classes.push(o);
      continue;
    }
    if (o.kind === 'EnvoyProxy' && group(o.apiVersion) === EnvoyGatewayGroup) {
      envoyProxies.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
      continue;
    }
    if (o.kind === 'Namespace') {
      namespaces.set(o.metadata.name, withNameLabel(o));
      continue;
    }
    const list = listOfKind[o.kind ?? ''];
    if (list) addObject(shared, list, o);
  }
  for (const ns of usedNamespaces) {
    if (!namespaces.has(ns)) namespaces.set(ns, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [nameLabel]: ns } } });
  }
  shared.namespaces = [...namespaces.values()] as Namespace[];
  // Sorted once here; every bundle takes ordered subsets of these lists.
  sortResources(shared);

  classes.sort(compareByAge);
  return classes.map((gatewayClass) => ({ name: gatewayClass.metadata.name, resources: bundleFor(gatewayClass, shared, envoyProxies) }));
}

function withNameLabel(ns: AnyObject): AnyObject {
  if (ns.metadata.labels?.[nameLabel] === ns.metadata.name) return ns;
  return { ...ns, metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, [nameLabel]: ns.metadata.name } } };
}

function bundleFor(gatewayClass: AnyObject, shared: Resources, envoyProxies: Map<string, AnyObject>): Resources {
  const r = emptyResources();
  for (const k of Object.keys(shared) as (keyof Resources)[]) {
    const v = shared[k];
    if (Array.isArray(v)) (r as any)[k] = v;
  }
  r.gatewayClass = gatewayClass as GatewayClass;
  const ref = gatewayClass.spec?.parametersRef;
  if (ref && ref.group === EnvoyGatewayGroup && ref.kind === 'EnvoyProxy') {
    const ep = envoyProxies.get(`${ref.namespace ?? ''}/${ref.name}`);
    if (ep) r.envoyProxyForGatewayClass = ep as EnvoyProxy;
  }

  const className = gatewayClass.metadata.name;
  r.gateways = shared.gateways.filter((g) => g.spec?.gatewayClassName === className);
  const gateways = new Set(r.gateways.map((g) => `${g.metadata.namespace}/${g.metadata.name}`));
  const proxies: AnyObject[] = [];
  for (const g of r.gateways) {
    const p = g.spec?.infrastructure?.parametersRef;
    if (!p || p.group !== EnvoyGatewayGroup || p.kind !== 'EnvoyProxy') continue;
    const ep = envoyProxies.get(`${g.metadata.namespace}/${p.name}`);
    if (ep && !proxies.includes(ep)) proxies.push(ep);
  }
  r.envoyProxiesForGateways = proxies.sort(compareByAge) as EnvoyProxy[];

  r.listenerSets = shared.listenerSets.filter((ls) => {
    const p = ls.spec?.parentRef;
    return p && (p.kind ?? 'Gateway') === 'Gateway' && gateways.has(`${p.namespace ?? ls.metadata.namespace}/${p.name}`);
  });
  const listenerSets = new Set(r.listenerSets.map((ls) => `${ls.kind}/${ls.metadata.namespace}/${ls.metadata.name}`));
  const attached = (route: AnyObject) =>
    (route.spec?.parentRefs ?? []).some((p: any) => {
      const ns = p.namespace ?? route.metadata.namespace;
      const kind = p.kind ?? 'Gateway';
      if (kind === 'Gateway') return (p.group ?? GatewayGroup) === GatewayGroup && gateways.has(`${ns}/${p.name}`);
      return listenerSets.has(`${kind}/${ns}/${p.name}`);
    });
  r.httpRoutes = shared.httpRoutes.filter(attached);
  r.grpcRoutes = shared.grpcRoutes.filter(attached);
  r.tlsRoutes = shared.tlsRoutes.filter(attached);
  r.tcpRoutes = shared.tcpRoutes.filter(attached);
  r.udpRoutes = shared.udpRoutes.filter(attached);
  return r;
}
