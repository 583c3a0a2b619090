// The rate limit service's configuration: one document per domain, in the format of Envoy's
// reference rate limit service (domain, descriptors with key/value, rate_limit with
// requests_per_unit and unit, nested descriptors, shadow_mode, unlimited, name and replaces), as
// src/xds/ratelimit/global.ts builds it for Envoy Gateway's policies. Compiled into lookup maps:
// an entry matches its descriptor by key and value, else a key_value prefix ending in `*`, else
// the key alone (any value, one counter per value).
import type { Problem } from '../api/place.js';

export type Unit = 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY' | 'MONTH' | 'YEAR';

export const UNIT_SECONDS: Record<Unit, number> = { SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86400, MONTH: 30 * 86400, YEAR: 365 * 86400 };

export interface Limit {
  requestsPerUnit: number;
  unit: Unit;
  unlimited: boolean;
  name: string;
  /** Names of limits this one replaces when both apply to one request. */
  replaces: string[];
  shadowMode: boolean;
  /** A stable id of the descriptor chain this limit sits on (counter keys start with it). */
  id: string;
}

export interface DescriptorNode {
  limit: Limit | undefined;
  children: DescriptorLevel | undefined;
}

export interface DescriptorLevel {
  /** `key` + '\0' + `value` → node. */
  exact: Map<string, DescriptorNode>;
  /** Value prefixes (values ending in `*`) per key, longest first. */
  prefixes: Map<string, { prefix: string; node: DescriptorNode }[]>;
  /** key → node for descriptors without a value. */
  any: Map<string, DescriptorNode>;
}

export interface CompiledConfig {
  domains: Map<string, DescriptorLevel>;
}

const UNITS = new Set(Object.keys(UNIT_SECONDS));

function emptyLevel(): DescriptorLevel {
  return { exact: new Map(), prefixes: new Map(), any: new Map() };
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Compiles domain documents ({domain, descriptors}); documents naming the same domain are merged
 * level by level. Problems name the document (place.file, place.document) and field.
 */
export function compileConfigs(docs: { value: unknown; file?: string; document?: number }[]): { config: CompiledConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const domains = new Map<string, DescriptorLevel>();
  for (const d of docs) {
    const problem = (field: string, message: string) => problems.push({ message, place: { file: d.file, document: d.document, field } });
    const v = d.value;
    if (!isMapping(v)) { problem('', 'expected a mapping with domain and descriptors'); continue; }
    const domain = v.domain;
    if (typeof domain !== 'string' || !domain) { problem('domain', 'a non-empty domain is required'); continue; }
    let level = domains.get(domain);
    if (!level) domains.set(domain, (level = emptyLevel()));
    addDescriptors(level, v.descriptors, 'descriptors', domain, problem);
  }
  return { config: { domains }, problems };
}

function addDescriptors(level: DescriptorLevel, list: unknown, path: string, idPrefix: string, problem: (field: string, message: string) => void): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) { problem(path, 'expected a list of descriptors'); return; }
  list.forEach((d, i) => {
    const p = `${path}[${i}]`;
    if (!isMapping(d)) { problem(p, 'expected a descriptor mapping'); return; }
    const key = d.key;
    if (typeof key !== 'string' || !key) { problem(`${p}.key`, 'a non-empty key is required'); return; }
    const value = d.value === undefined || d.value === null ? '' : String(d.value);
    const id = `${idPrefix}\0${key}\0${value}`;
    let node: DescriptorNode | undefined;
    if (!value) node = level.any.get(key);
    else if (value.endsWith('*')) node = level.prefixes.get(key)?.find((x) => x.prefix === value.slice(0, -1))?.node;
    else node = level.exact.get(`${key}\0${value}`);
    const fresh = !node;
    node ??= { limit: undefined, children: undefined };
    const rl = d.rate_limit ?? d.rateLimit;
    if (rl !== undefined && rl !== null) {
      if (!isMapping(rl)) problem(`${p}.rate_limit`, 'expected a mapping');
      else {
        const limit = compileLimit(rl, `${p}.rate_limit`, id, d.shadow_mode === true || d.shadowMode === true, problem);
        if (limit) {
          if (node.limit) problem(`${p}.rate_limit`, `duplicate descriptor ${key}${value ? `=${value}` : ''}`);
          node.limit = limit;
        }
      }
    }
    const children = d.descriptors;
    if (Array.isArray(children) && children.length) addDescriptors((node.children ??= emptyLevel()), children, `${p}.descriptors`, id, problem);
    if (!fresh) return;
    if (!value) level.any.set(key, node);
    else if (value.endsWith('*')) {
      const list2 = level.prefixes.get(key) ?? [];
      list2.push({ prefix: value.slice(0, -1), node });
      list2.sort((a, b) => b.prefix.length - a.prefix.length);
      level.prefixes.set(key, list2);
    } else level.exact.set(`${key}\0${value}`, node);
  });
}

function compileLimit(rl: Record<string, unknown>, path: string, id: string, shadow: boolean, problem: (field: string, message: string) => void): Limit | undefined {
  const unlimited = rl.unlimited === true;
  const unit = String(rl.unit ?? '').toUpperCase();
  const rpu = Number(rl.requests_per_unit ?? rl.requestsPerUnit ?? 0);
  if (!unlimited) {
    if (!UNITS.has(unit)) { problem(`${path}.unit`, `unknown unit ${JSON.stringify(rl.unit)} (SECOND, MINUTE, HOUR, DAY, MONTH or YEAR)`); return undefined; }
    if (!Number.isInteger(rpu) || rpu < 0) { problem(`${path}.requests_per_unit`, 'a whole number of requests is required'); return undefined; }
  }
  const replaces: string[] = [];
  if (Array.isArray(rl.replaces)) for (const r of rl.replaces) if (isMapping(r) && typeof r.name === 'string' && r.name) replaces.push(r.name);
  return { requestsPerUnit: rpu, unit: (UNITS.has(unit) ? unit : 'SECOND') as Unit, unlimited, name: typeof rl.name === 'string' ? rl.name : '', replaces, shadowMode: shadow, id };
}

/** The limit for one request descriptor: the node its last entry reaches, if it has one. */
export function findLimit(config: CompiledConfig, domain: string, entries: { key: string; value: string }[]): Limit | undefined {
  let level = config.domains.get(domain);
  for (let i = 0; i < entries.length && level; i++) {
    const { key, value } = entries[i]!;
    let node = level.exact.get(`${key}\0${value}`);
    if (!node) {
      const ps = level.prefixes.get(key);
      if (ps) for (const x of ps) if (value.startsWith(x.prefix)) { node = x.node; break; }
    }
    node ??= level.any.get(key);
    if (!node) return undefined;
    if (i === entries.length - 1) return node.limit;
    level = node.children;
  }
  return undefined;
}
