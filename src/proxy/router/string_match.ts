// envoy.type.matcher.v3.StringMatcher compiled to a predicate. Exact matches stay plain string
// comparisons; only safe_regex goes to the RE2 engine.
import { ConfigError } from '../config/errors.js';
import { at, bool, field, obj, str, type Json } from '../config/json.js';
import { compileRegex } from './regex.js';

export type StringMatch = (value: string) => boolean;

export function compileStringMatcher(m: Json, path: string): StringMatch {
  const ignoreCase = bool(m, 'ignoreCase', path);
  const exact = field(m, 'exact');
  if (typeof exact === 'string') {
    if (!ignoreCase) return (v) => v === exact;
    const lower = exact.toLowerCase();
    return (v) => v.length === lower.length && v.toLowerCase() === lower;
  }
  const prefix = field(m, 'prefix');
  if (typeof prefix === 'string') {
    if (prefix === '') throw new ConfigError(at(path, 'prefix'), 'must not be empty');
    if (!ignoreCase) return (v) => v.startsWith(prefix);
    const lower = prefix.toLowerCase();
    return (v) => v.length >= lower.length && v.slice(0, lower.length).toLowerCase() === lower;
  }
  const suffix = field(m, 'suffix');
  if (typeof suffix === 'string') {
    if (suffix === '') throw new ConfigError(at(path, 'suffix'), 'must not be empty');
    if (!ignoreCase) return (v) => v.endsWith(suffix);
    const lower = suffix.toLowerCase();
    return (v) => v.length >= lower.length && v.slice(v.length - lower.length).toLowerCase() === lower;
  }
  const contains = field(m, 'contains');
  if (typeof contains === 'string') {
    if (contains === '') throw new ConfigError(at(path, 'contains'), 'must not be empty');
    if (!ignoreCase) return (v) => v.includes(contains);
    const lower = contains.toLowerCase();
    return (v) => v.toLowerCase().includes(lower);
  }
  const safeRegex = obj(m, 'safeRegex', path);
  if (safeRegex) {
    const re = compileRegex(str(safeRegex, 'regex', at(path, 'safeRegex')), at(at(path, 'safeRegex'), 'regex'));
    return (v) => re.fullMatch(v);
  }
  if (field(m, 'custom') !== undefined) throw new ConfigError(at(path, 'custom'), 'custom string matchers are not supported');
  throw new ConfigError(path, 'a string matcher needs one of exact, prefix, suffix, contains or safeRegex');
}
