// The HTTP filters this proxy implements, by typed-config type. A listener or route naming a
// type that is not here is rejected (NACK) with the field that names it: never ignored.
import { ConfigError } from '../config/errors.js';
import { anyType, at, bool, field, type Json } from '../config/json.js';
import type { HttpFilterFactory } from './filter.js';

const factories = new Map<string, HttpFilterFactory>();
const perRouteParsers = new Map<string, (config: Json, path: string) => unknown>();

export function registerHttpFilter(f: HttpFilterFactory): void {
  factories.set(f.configType, f);
  for (const [type, parse] of Object.entries(f.perRoute ?? {})) perRouteParsers.set(type, parse);
}

export function httpFilterFactory(type: string): HttpFilterFactory | undefined {
  return factories.get(type);
}

/** A per-route config for one filter instance; `disabled` turns the filter off on that route. */
export interface PerFilterConfig {
  disabled: boolean;
  config: unknown;
}

export type PerFilterConfigs = Map<string, PerFilterConfig>;

const FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';

/** typed_per_filter_config: filter name → Any (possibly wrapped in a route.v3.FilterConfig). */
export function parsePerFilterConfigs(m: Json | undefined, path: string): PerFilterConfigs | undefined {
  if (!m) return undefined;
  const out: PerFilterConfigs = new Map();
  for (const [name, any] of Object.entries(m)) {
    const p = at(path, name);
    if (!any || typeof any !== 'object') throw new ConfigError(p, 'expected a typed config');
    let type = anyType(any, p);
    let config: Json | undefined = any;
    let disabled = false;
    let optional = false;
    if (type === FILTER_CONFIG) {
      disabled = bool(any, 'disabled', p);
      optional = bool(any, 'isOptional', p);
      config = field(any, 'config');
      // An empty config (no @type) only enables the filter on the route: Envoy Gateway writes
      // its Lua, Wasm and ext_proc filters that way.
      type = config && Object.keys(config).length ? anyType(config, at(p, 'config')) : '';
    }
    if (!config || !type) {
      out.set(name, { disabled, config: undefined });
      continue;
    }
    const parse = perRouteParsers.get(type);
    if (!parse) {
      if (optional) continue;
      throw new ConfigError(p, `unsupported per-route filter config ${type}`);
    }
    out.set(name, { disabled, config: parse(config, config === any ? p : at(p, 'config')) });
  }
  return out;
}

/** Adds the SDS secrets per-route filter configs read (those that list sdsSecretNames: OAuth2). */
export function perFilterSecretNames(m: PerFilterConfigs | undefined, into: Set<string>): void {
  if (!m) return;
  for (const pf of m.values()) {
    const names = (pf.config as { sdsSecretNames?: readonly string[] } | undefined)?.sdsSecretNames;
    if (names) for (const n of names) into.add(n);
  }
}
