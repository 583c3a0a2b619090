// Dynamic modules (EnvoyExtensionPolicy dynamicModules): shared libraries loaded into Envoy, one
// dynamic_modules filter per module instance, off by default and turned on by its routes. A
// remote module is fetched over HTTPS from its URL (checked against its SHA-256).
import type { DynamicModule } from '../../../ir/xds.js';
import { addURLCluster, urlCluster } from '../urlcluster.js';
import { typed, type Msg } from '../util.js';
import { enableFilter, uniqueFilters, type HTTPFeature } from './feature.js';
import { goJSON } from './wasm.js';

const filterType = 'envoy.filters.http.dynamic_modules';
const fetchTimeout = '10s';

function moduleSource(m: DynamicModule): Msg {
  if (m.remote) {
    const remote: Msg = { httpUri: { uri: m.remote.url, cluster: urlCluster(m.remote.url).name, timeout: fetchTimeout } };
    if (m.remote.sha256) remote.sha256 = m.remote.sha256;
    return { remote };
  }
  return { local: { filename: m.path } };
}

function filterConfig(m: DynamicModule): Msg {
  const module: Msg = { module: moduleSource(m) };
  if (m.doNotClose) module.doNotClose = true;
  if (m.loadGlobally) module.loadGlobally = true;
  const cfg: Msg = { dynamicModuleConfig: module, filterName: m.filterName };
  // The module's configuration is handed over as JSON text.
  if (m.config !== undefined && m.config !== null) cfg.filterConfig = typed('google.protobuf.StringValue', { value: goJSON(m.config) });
  if (m.terminalFilter) cfg.terminalFilter = true;
  return cfg;
}

export const dynamicModules: HTTPFeature = {
  filters(l) {
    return uniqueFilters(l.routes, (r) => r.envoyExtensions?.dynamicModules?.map((m) => ({
      name: `${filterType}/${m.name}`,
      disabled: true,
      typedConfig: typed('envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter', filterConfig(m)),
    })));
  },
  perRoute(r) {
    const ms = r.envoyExtensions?.dynamicModules;
    if (!ms?.length) return undefined;
    return Object.fromEntries(ms.map((m) => [`${filterType}/${m.name}`, enableFilter()]));
  },
  resources(l, ctx) {
    for (const r of l.routes ?? []) {
      for (const m of r.envoyExtensions?.dynamicModules ?? []) if (m.remote) addURLCluster(ctx, urlCluster(m.remote.url));
    }
  },
};
