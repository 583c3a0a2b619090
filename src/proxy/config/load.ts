// Reading `egts proxy -c <file>`: an Envoy bootstrap (static resources and/or an ADS config
// source), an Envoy config dump (/config_dump, or `egts translate --to xds` output, possibly
// keyed by IR key), or a plain {listeners, routes, clusters, endpoints, secrets} document.
// YAML or JSON. Returns resource updates for the proxy and, when the file names one, the ADS
// server to connect to.
import { parse } from 'yaml';
import { ConfigError } from './errors.js';
import { anyType, at, field, list, obj, str, type Json } from './json.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, type ResourceType } from './type_urls.js';
import type { ResourceUpdate } from '../proxy.js';

export interface AdsSource {
  /** host:port (or unix:path) of the ADS server, from the bootstrap's static cluster. */
  target: string;
  /** Delta (DELTA_GRPC) or state of the world (GRPC). */
  delta: boolean;
  tls: boolean;
}

export interface LoadedConfig {
  updates: ResourceUpdate[];
  ads: AdsSource | undefined;
  node: { id: string; cluster: string } | undefined;
  admin: { address: string; port: number } | undefined;
}

export function parseConfigText(text: string, file: string, serviceCluster?: string): LoadedConfig {
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parse(text);
  } catch (err) {
    throw new ConfigError('', `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object') throw new ConfigError('', `${file}: expected a mapping`);
  return loadDocument(doc as Json, serviceCluster);
}

export function loadDocument(d: Json, serviceCluster?: string): LoadedConfig {
  const out: Record<ResourceType, Json[]> = { [LISTENER]: [], [ROUTE]: [], [CLUSTER]: [], [ENDPOINT]: [], [SECRET]: [] } as Record<ResourceType, Json[]>;
  let ads: AdsSource | undefined;
  let node: LoadedConfig['node'];
  let admin: LoadedConfig['admin'];
  const xds = obj(d, 'xds', '');
  if (xds && !field(d, 'configs')) {
    // `egts translate --to xds` / egctl output: config dumps keyed by IR key.
    const keys = Object.keys(xds);
    const key = serviceCluster ?? (keys.length === 1 ? keys[0] : undefined);
    if (!key || !xds[key]) throw new ConfigError('xds', `choose the IR key with --service-cluster (one of ${keys.join(', ')})`);
    d = xds[key];
  }
  if (Array.isArray(field(d, 'configs'))) {
    list(d, 'configs', '').forEach((c: Json, i: number) => readDump(c, at('configs', i), out, (b) => { ({ ads, node, admin } = readBootstrap(b, 'configs', out)); }));
  } else if (field(d, 'staticResources') !== undefined || field(d, 'dynamicResources') !== undefined || field(d, 'node') !== undefined) {
    ({ ads, node, admin } = readBootstrap(d, '', out));
  } else {
    for (const [key, type] of [['listeners', LISTENER], ['routes', ROUTE], ['clusters', CLUSTER], ['endpoints', ENDPOINT], ['secrets', SECRET]] as const) {
      for (const r of list(d, key, '')) out[type].push(stripType(r));
    }
  }
  const updates: ResourceUpdate[] = [];
  for (const type of [SECRET, CLUSTER, ENDPOINT, ROUTE, LISTENER] as ResourceType[]) {
    updates.push({ type, resources: out[type], sotw: true });
  }
  return { updates, ads, node, admin };
}

function stripType(r: Json): Json {
  if (r && typeof r === 'object' && '@type' in r) {
    const { ['@type']: _t, ...rest } = r;
    return rest;
  }
  return r;
}

function readBootstrap(b: Json, path: string, out: Record<ResourceType, Json[]>): Pick<LoadedConfig, 'ads' | 'node' | 'admin'> {
  const sr = obj(b, 'staticResources', path) ?? {};
  const sp = at(path, 'staticResources');
  for (const l of list(sr, 'listeners', sp)) out[LISTENER].push(l);
  const clusters = list(sr, 'clusters', sp);
  for (const s of list(sr, 'secrets', sp)) out[SECRET].push(s);
  let ads: AdsSource | undefined;
  const dr = obj(b, 'dynamicResources', path);
  let adsCluster = '';
  if (dr) {
    const ac = obj(dr, 'adsConfig', at(path, 'dynamicResources'));
    if (ac) {
      const ap = at(path, 'dynamicResources.adsConfig');
      const apiType = str(ac, 'apiType', ap, 'GRPC');
      const gs = list(ac, 'grpcServices', ap)[0];
      adsCluster = gs ? str(obj(gs, 'envoyGrpc', at(ap, 'grpcServices[0]')) ?? {}, 'clusterName', at(ap, 'grpcServices[0].envoyGrpc')) : '';
      if (!adsCluster) throw new ConfigError(at(ap, 'grpcServices'), 'an envoy_grpc cluster name is required');
      ads = { target: '', delta: apiType === 'DELTA_GRPC', tls: false };
    }
  }
  for (const c of clusters) {
    if (ads && str(c, 'name', '') === adsCluster) {
      ads.target = clusterTarget(c);
      const ts = obj(c, 'transportSocket', '');
      const tc = ts && obj(ts, 'typedConfig', '');
      ads.tls = !!tc && anyType(tc, '').endsWith('UpstreamTlsContext');
      continue;
    }
    out[CLUSTER].push(c);
  }
  if (ads && !ads.target) throw new ConfigError(at(path, 'staticResources.clusters'), `the ADS cluster ${adsCluster} is not defined`);
  const n = obj(b, 'node', path);
  const node = n ? { id: str(n, 'id', at(path, 'node')), cluster: str(n, 'cluster', at(path, 'node')) } : undefined;
  const a = obj(b, 'admin', path);
  const sa = a && obj(obj(a, 'address', at(path, 'admin')) ?? {}, 'socketAddress', at(path, 'admin.address'));
  const admin = sa ? { address: str(sa, 'address', ''), port: Number(field(sa, 'portValue') ?? 0) } : undefined;
  return { ads, node, admin };
}

function clusterTarget(c: Json): string {
  const la = obj(c, 'loadAssignment', '');
  const ep = la && list(la, 'endpoints', '')[0];
  const lb = ep && list(ep, 'lbEndpoints', '')[0];
  const addr = lb && obj(obj(lb, 'endpoint', '') ?? {}, 'address', '');
  if (!addr) return '';
  const sa = obj(addr, 'socketAddress', '');
  if (sa) {
    const host = str(sa, 'address', '');
    return `${host.includes(':') ? `[${host}]` : host}:${field(sa, 'portValue')}`;
  }
  const pipe = obj(addr, 'pipe', '');
  return pipe ? `unix:${str(pipe, 'path', '')}` : '';
}

/** Where each kind of config dump keeps its resources: the lists, and the field of an entry that holds the resource. */
const DUMP_SECTIONS: Record<string, { type: ResourceType; inner: string; lists: string[] }> = {
  'envoy.admin.v3.ListenersConfigDump': { type: LISTENER, inner: 'listener', lists: ['staticListeners', 'dynamicListeners'] },
  'envoy.admin.v3.ClustersConfigDump': { type: CLUSTER, inner: 'cluster', lists: ['staticClusters', 'dynamicActiveClusters', 'dynamicWarmingClusters'] },
  'envoy.admin.v3.RoutesConfigDump': { type: ROUTE, inner: 'routeConfig', lists: ['staticRouteConfigs', 'dynamicRouteConfigs'] },
  'envoy.admin.v3.EndpointsConfigDump': { type: ENDPOINT, inner: 'endpointConfig', lists: ['staticEndpointConfigs', 'dynamicEndpointConfigs'] },
  'envoy.admin.v3.SecretsConfigDump': { type: SECRET, inner: 'secret', lists: ['staticSecrets', 'dynamicActiveSecrets', 'dynamicWarmingSecrets'] },
};

/** One entry of a ConfigDump's `configs`. */
function readDump(c: Json, path: string, out: Record<ResourceType, Json[]>, bootstrap: (b: Json) => void): void {
  const type = anyType(c, path);
  if (type === 'envoy.admin.v3.BootstrapConfigDump') {
    const b = obj(c, 'bootstrap', path);
    if (b) bootstrap(b);
    return;
  }
  // Other dumps (scoped routes, ECDS) carry nothing this proxy reads.
  const section = DUMP_SECTIONS[type];
  if (!section) return;
  for (const key of section.lists) {
    for (const e of list(c, key, path)) {
      // Dynamic entries wrap the resource in active_state (warming ones too).
      const state = obj(e, 'activeState', '') ?? e;
      const r = field(state, section.inner);
      if (r) out[section.type].push(stripType(r));
    }
  }
}
