// envoy.filters.http.dynamic_modules: Envoy loads a native shared object (.so, built against its
// C ABI) into its own process and calls into it for every request. A Node.js process cannot load
// such a module: the ABI it implements is Envoy's, not Node's (N-API), and the module expects
// Envoy's filter callbacks behind it. The filter is refused with a message naming the filter
// instance, the module and the reason, so the NACK says exactly what the proxy cannot run.
// (Lua and Wasm extensions, which the proxy can run, are separate filters.)
import { ConfigError } from '../../config/errors.js';
import { at, field, obj, str, type Json } from '../../config/json.js';
import { registerHttpFilter } from '../filter_registry.js';

const CONFIG = 'envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter';
const PER_ROUTE = 'envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilterPerRoute';

/** Where the module comes from: its name, its local file, or its remote URI. */
function moduleOf(c: Json, path: string): string {
  const dm = obj(c, 'dynamicModuleConfig', path);
  if (!dm) return 'unnamed module';
  const dp = at(path, 'dynamicModuleConfig');
  const name = str(dm, 'name', dp);
  const source = obj(dm, 'module', dp);
  const local = source && obj(source, 'local', at(dp, 'module'));
  const remote = source && obj(source, 'remote', at(dp, 'module'));
  const file = local ? (str(local, 'filename', '') || (field(local, 'inlineString') !== undefined || field(local, 'inlineBytes') !== undefined ? 'inline bytes' : '')) : '';
  const uri = remote ? str(obj(remote, 'httpUri', '') ?? {}, 'uri', '') : '';
  const where = file || uri;
  if (name && where) return `${name} (${where})`;
  return name || where || 'unnamed module';
}

function refuse(instance: string, c: Json, path: string): never {
  const filterName = str(c, 'filterName', path) || str(c, 'perRouteConfigName', path);
  throw new ConfigError(at(path, 'dynamicModuleConfig'),
    `${instance}: dynamic module ${moduleOf(c, path)}${filterName ? ` (module filter ${JSON.stringify(filterName)})` : ''} cannot be loaded: ` +
    'dynamic modules are native shared objects built against Envoy\'s C ABI, which this Node.js proxy cannot load or call; ' +
    'run this filter on Envoy, or use an ext_proc, Lua or Wasm extension instead');
}

registerHttpFilter({
  configType: CONFIG,
  create: (name, c, path) => refuse(`HTTP filter ${name || 'envoy.filters.http.dynamic_modules'}`, c, path),
  perRoute: { [PER_ROUTE]: (c, path) => refuse('per-route config of envoy.filters.http.dynamic_modules', c, path) },
});
