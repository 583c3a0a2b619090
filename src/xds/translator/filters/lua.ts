// Lua extensions (EnvoyExtensionPolicy lua): one lua filter per script, off by default, turned
// on by the routes that run it (with the script's filter context when it has one).
import type { Lua } from '../../../ir/xds.js';
import { typed, type Msg } from '../util.js';
import { enableFilter, uniqueFilters, type HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.lua';

/** Envoy Gateway's IR has carried this struct with and without JSON names: read both. */
function fields(l: Lua): { name: string; code: string; context?: Record<string, unknown> | null } {
  const x = l as unknown as Record<string, any>;
  return { name: x.name ?? x.Name, code: x.code ?? x.Code, context: x.filterContext ?? x.FilterContext };
}

export const lua: HTTPFeature = {
  filters(l) {
    return uniqueFilters(l.routes, (r) => r.envoyExtensions?.luas?.map((s) => {
      const f = fields(s);
      return {
        name: `${filterType}/${f.name}`,
        disabled: true,
        typedConfig: typed('envoy.extensions.filters.http.lua.v3.Lua', { defaultSourceCode: { inlineString: f.code } }),
      };
    }));
  },
  perRoute(r) {
    const ls = r.envoyExtensions?.luas;
    if (!ls?.length) return undefined;
    const out: Record<string, Msg> = {};
    for (const s of ls) {
      const f = fields(s);
      out[`${filterType}/${f.name}`] = f.context && Object.keys(f.context).length
        ? typed('envoy.extensions.filters.http.lua.v3.LuaPerRoute', { filterContext: f.context })
        : enableFilter();
    }
    return out;
  },
};
