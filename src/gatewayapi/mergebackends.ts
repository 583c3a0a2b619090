// mergeBackends: routes that reference the same backend share one cluster (a BackendCluster of the
// IR, named after the backend) instead of one cluster per route rule. A destination only merges
// when sharing cannot change its behaviour: no per-backend filters, no traffic splitting that
// relies on host affinity, no fallback priorities, no dynamic resolution.
import type { LabelSelector } from '../api/gatewayapi/index.js';
import type { BackendCluster, BackendClusterRef, DestinationSetting, RouteDestination } from '../ir/xds.js';
import type { GatewayContext } from './contexts.js';
import { selectorMatches } from './lookups.js';
import { mergeBackendsConfig, type MergeBackends, type Translation } from './translation.js';

/** The mergeBackends setting of a Gateway's proxy: its EnvoyProxy's, else the class-wide one. */
function configFor(t: Translation, g: GatewayContext): MergeBackends | undefined {
  return g.envoyProxy?.spec?.mergeBackends ?? mergeBackendsConfig(t.resources);
}

export function mergeBackendsEnabledFor(t: Translation, g: GatewayContext): boolean {
  return !!configFor(t, g);
}

type Setting = DestinationSetting;

/** Merges the eligible destinations of every proxy whose Gateways enable mergeBackends. */
export function mergeBackendClusters(t: Translation): void {
  const done = new Set<string>();
  for (const g of t.accepted) {
    const key = t.irKey(g);
    if (done.has(key)) continue;
    done.add(key);
    const cfg = configFor(t, g);
    if (!cfg) continue;
    const xds = t.xdsIR[key];
    if (!xds) continue;
    const clusters = new Map<string, BackendCluster>();
    const selected = (s: Setting) => backendSelected(t, s, cfg.selector);
    for (const l of xds.http ?? []) {
      for (const r of l.routes ?? []) {
        const splitsByAffinity = !!r.sessionPersistence || !!r.traffic?.loadBalancer?.consistentHash;
        mergeDestination(r.destination, clusters, selected, splitsByAffinity, true);
      }
    }
    for (const l of xds.tcp ?? []) for (const r of l.routes ?? []) mergeDestination(r.destination, clusters, selected, !!r.loadBalancer?.consistentHash, false);
    for (const l of xds.udp ?? []) if (l.route) mergeDestination(l.route.destination, clusters, selected, !!l.route.loadBalancer?.consistentHash, false);
    if (clusters.size) xds.backendClusters = [...clusters.values()];
  }
}

/** The shared cluster name of a setting: `<kind>/<namespace>/<name>/<section>/<protocol>`. */
function clusterName(s: Setting): string | undefined {
  if (s.isDynamicResolver || s.invalid || s.filters) return undefined;
  const md = s.metadata;
  if (!md?.kind || !md.name) return undefined;
  let name = `${md.kind.toLowerCase()}/${md.namespace ?? ''}/${md.name}`;
  if (md.sectionName) name += `/${md.sectionName}`;
  if (s.protocol) name += `/${String(s.protocol).toLowerCase()}`;
  return name;
}

function mergeDestination(d: RouteDestination | undefined, clusters: Map<string, BackendCluster>, selected: (s: Setting) => boolean, splitsByAffinity: boolean, weighted: boolean): void {
  const settings = d?.settings;
  if (!d || !settings?.length) return;
  // Fallback priorities and dynamic resolution only work within one cluster.
  if (settings.some((s) => s.priority !== undefined || s.isDynamicResolver)) return;
  const names = settings.map((s) => (selected(s) ? clusterName(s) : undefined));
  if (settings.length > 1) {
    if (splitsByAffinity) return;
    // TCP and UDP route to a single cluster: several backends merge only into the same one.
    if (!weighted && (names.some((n) => !n) || new Set(names).size > 1)) return;
  }
  const refs: BackendClusterRef[] = [];
  const kept: Setting[] = [];
  settings.forEach((s, i) => {
    const name = names[i];
    if (!name) {
      kept.push(s);
      return;
    }
    if (!clusters.has(name)) {
      const { weight: _weight, ...setting } = s;
      clusters.set(name, { name, metadata: s.metadata, setting: { ...setting, name } });
    }
    refs.push({ name, weight: s.weight ?? 1 });
  });
  if (!refs.length) return;
  d.backendClusterRefs = refs;
  if (kept.length) d.settings = kept;
  else delete d.settings;
}

/** Whether the backend of a setting is selected by the mergeBackends selector (all when none). */
function backendSelected(t: Translation, s: Setting, selector: LabelSelector | undefined): boolean {
  if (!selector) return true;
  const md = s.metadata;
  if (!md) return false;
  const ns = md.namespace ?? '';
  const name = md.name ?? '';
  const obj =
    md.kind === 'Service'
      ? t.lookups.service(ns, name)
      : md.kind === 'ServiceImport'
        ? t.lookups.serviceImport(ns, name)
        : md.kind === 'Backend'
          ? t.lookups.backend(ns, name)
          : undefined;
  return !!obj && selectorMatches(selector, obj.metadata?.labels);
}
