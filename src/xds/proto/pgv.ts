// protoc-gen-validate rules compiled into checks. A check receives one value as it appears in the
// proto3 JSON mapping (any form the parser accepts) and reports what breaks a rule; values the
// codec would reject are left to the codec. Semantics follow PGV's generated validators: string
// lengths count code points, *_bytes count UTF-8 bytes, numeric gt/lt pairs form an inclusive or
// exclusive range depending on their order, and rules of a oneof member apply only when it is set.
import { isIP } from 'node:net';
import { show } from './errors.js';
import type { EnumType } from './registry.js';
import { parseBytes, parseDuration, parseTimestamp } from './scalars.js';
import type {
  AnyRules, BytesRules, DurationRules, EnumRules, NumericRules, SecondsNanos, StringRules, TimestampRules,
} from './schema.js';

/** Where a check reports: the validator keeps the path; a check gives the rule and the reason. */
export interface Reporter {
  fail(rule: string, message: string): void;
}

export type Check = (value: unknown, report: Reporter) => void;

// ---- numbers ----

type Num = number | bigint;

function toNum(value: unknown): Num | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string') {
    if (/^-?\d{16,}$/.test(value)) return BigInt(value);
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    const n = Number(value);
    return value.trim() !== '' && !Number.isNaN(n) ? n : undefined;
  }
  return undefined;
}

function cmp(a: Num, b: Num): number {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    if (typeof a === 'number' && !Number.isInteger(a)) return a < Number(b) ? -1 : 1;
    if (typeof b === 'number' && !Number.isInteger(b)) return Number(a) < b ? -1 : 1;
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The bounds of a numeric, Duration or Timestamp rule: with both a lower and an upper bound,
 * lower < upper is a range the value must be inside; lower > upper a range it must be outside.
 */
function rangeCheck<T>(
  r: { gt?: T; gte?: T; lt?: T; lte?: T }, compare: (a: T, b: T) => number, text: (v: T) => string,
): ((v: T) => string | undefined) | undefined {
  const lower = r.gt !== undefined ? { v: r.gt, incl: false } : r.gte !== undefined ? { v: r.gte, incl: true } : undefined;
  const upper = r.lt !== undefined ? { v: r.lt, incl: false } : r.lte !== undefined ? { v: r.lte, incl: true } : undefined;
  if (!lower && !upper) return undefined;
  const aboveLower = (v: T): boolean => !lower || (lower.incl ? compare(v, lower.v) >= 0 : compare(v, lower.v) > 0);
  const belowUpper = (v: T): boolean => !upper || (upper.incl ? compare(v, upper.v) <= 0 : compare(v, upper.v) < 0);
  const lo = lower ? `${lower.incl ? 'at least' : 'greater than'} ${text(lower.v)}` : '';
  const hi = upper ? `${upper.incl ? 'at most' : 'less than'} ${text(upper.v)}` : '';
  if (lower && upper && compare(lower.v, upper.v) > 0) {
    return (v) => (aboveLower(v) || belowUpper(v) ? undefined : `must be ${lo} or ${hi}`);
  }
  return (v) => (aboveLower(v) && belowUpper(v) ? undefined : `must be ${[lo, hi].filter(Boolean).join(' and ')}`);
}

/** `uint32.gt/lte`: the bound rules a range was built from. */
function boundsRule(prefix: string, r: { gt?: unknown; gte?: unknown; lt?: unknown; lte?: unknown }): string {
  return `${prefix}.${(['gt', 'gte', 'lt', 'lte'] as const).filter((k) => r[k] !== undefined).join('/')}`;
}

export function numericCheck(type: string, r: NumericRules): Check {
  const bounds = { gt: toNum(r.gt), gte: toNum(r.gte), lt: toNum(r.lt), lte: toNum(r.lte) };
  const range = rangeCheck(bounds, cmp, String);
  const rangeRule = boundsRule(type, r);
  const constant = r.const !== undefined ? toNum(r.const) : undefined;
  const within = r.in?.map(toNum).filter((n): n is Num => n !== undefined);
  const without = r.not_in?.map(toNum).filter((n): n is Num => n !== undefined);
  return (value, report) => {
    const n = toNum(value);
    if (n === undefined) return;
    if (r.ignore_empty && cmp(n, 0) === 0) return;
    if (constant !== undefined && cmp(n, constant) !== 0) report.fail(`${type}.const`, `must equal ${String(constant)}, got ${show(value)}`);
    if (range) {
      const bad = range(n);
      if (bad) report.fail(rangeRule, `${bad}, got ${show(value)}`);
    }
    if (within && !within.some((x) => cmp(x, n) === 0)) report.fail(`${type}.in`, `must be one of ${within.map(String).join(', ')}, got ${show(value)}`);
    if (without && without.some((x) => cmp(x, n) === 0)) report.fail(`${type}.not_in`, `must not be ${show(value)}`);
  };
}

// ---- strings ----

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

// The header patterns PGV uses for well_known_regex (RFC 7230 token for names, field-value for
// values), and the loose form used when strict is false: only NUL, CR and LF are refused.
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;

const HOSTNAME_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

function isHostname(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (!name || name.length > 253) return false;
  return name.split('.').every((label) => HOSTNAME_LABEL.test(label));
}

function isEmail(s: string): boolean {
  const addr = /<([^>]*)>\s*$/.exec(s)?.[1] ?? s;
  const at = addr.lastIndexOf('@');
  if (at <= 0 || addr.length > 254) return false;
  return addr.slice(0, at).length <= 64 && isHostname(addr.slice(at + 1));
}

function isUri(s: string, absolute: boolean): boolean {
  if (absolute && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)) return false;
  try {
    new URL(s, absolute ? undefined : 'http://relative.invalid');
    return true;
  } catch {
    return false;
  }
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Builds a check from the sub-checks a rule set needs, so a value pays only for its rules. */
function combine<T>(parse: (value: unknown) => T | undefined, skip: (v: T) => boolean, parts: Array<(v: T, value: unknown, report: Reporter) => void>): Check | undefined {
  if (parts.length === 0) return undefined;
  return (value, report) => {
    const v = parse(value);
    if (v === undefined || skip(v)) return;
    for (const part of parts) part(v, value, report);
  };
}

export function stringCheck(r: StringRules): Check | undefined {
  type Part = (v: string, value: unknown, report: Reporter) => void;
  const parts: Part[] = [];
  const rule = (name: string, ok: (v: string) => boolean, what: string): void => {
    parts.push((v, value, report) => {
      if (!ok(v)) report.fail(`string.${name}`, `${what}, got ${show(value)}`);
    });
  };
  if (r.const !== undefined) rule('const', (v) => v === r.const, `must equal ${show(r.const)}`);
  if (r.len !== undefined) rule('len', (v) => codePoints(v) === r.len, `must be exactly ${r.len} characters long`);
  if (r.min_len !== undefined) rule('min_len', (v) => v.length >= r.min_len! && (v.length >= 2 * r.min_len! || codePoints(v) >= r.min_len!), `must be at least ${r.min_len} characters long`);
  if (r.max_len !== undefined) rule('max_len', (v) => v.length <= r.max_len! || codePoints(v) <= r.max_len!, `must be at most ${r.max_len} characters long`);
  if (r.len_bytes !== undefined) rule('len_bytes', (v) => Buffer.byteLength(v, 'utf8') === r.len_bytes, `must be exactly ${r.len_bytes} bytes long`);
  if (r.min_bytes !== undefined) rule('min_bytes', (v) => v.length >= r.min_bytes! || Buffer.byteLength(v, 'utf8') >= r.min_bytes!, `must be at least ${r.min_bytes} bytes long`);
  if (r.max_bytes !== undefined) rule('max_bytes', (v) => v.length * 3 <= r.max_bytes! || Buffer.byteLength(v, 'utf8') <= r.max_bytes!, `must be at most ${r.max_bytes} bytes long`);
  if (r.pattern !== undefined) {
    let pattern: RegExp | undefined;
    try {
      pattern = new RegExp(r.pattern, 'u');
    } catch {
      pattern = undefined; // an RE2 construct JavaScript lacks: leave it to Envoy
    }
    if (pattern) rule('pattern', (v) => pattern.test(v), `must match the pattern ${show(r.pattern)}`);
  }
  if (r.prefix !== undefined) rule('prefix', (v) => v.startsWith(r.prefix!), `must start with ${show(r.prefix)}`);
  if (r.suffix !== undefined) rule('suffix', (v) => v.endsWith(r.suffix!), `must end with ${show(r.suffix)}`);
  if (r.contains !== undefined) rule('contains', (v) => v.includes(r.contains!), `must contain ${show(r.contains)}`);
  if (r.not_contains !== undefined) rule('not_contains', (v) => !v.includes(r.not_contains!), `must not contain ${show(r.not_contains)}`);
  if (r.in) rule('in', (v) => r.in!.includes(v), `must be one of ${r.in.map((x) => show(x)).join(', ')}`);
  if (r.not_in) rule('not_in', (v) => !r.not_in!.includes(v), 'must not be this value');
  if (r.well_known_regex === 'HTTP_HEADER_NAME' || r.well_known_regex === 'HTTP_HEADER_VALUE') {
    const strict = r.strict !== false;
    const re = r.well_known_regex === 'HTTP_HEADER_NAME' ? (strict ? HEADER_NAME : HEADER_LOOSE) : strict ? HEADER_VALUE : HEADER_LOOSE;
    const what = r.well_known_regex === 'HTTP_HEADER_NAME' ? 'an HTTP header name' : 'an HTTP header value';
    rule('well_known_regex', (v) => re.test(v), `must be ${what}${strict ? '' : ' (no NUL, CR or LF)'}`);
  }
  if (r.email) rule('email', isEmail, 'must be an email address');
  if (r.hostname) rule('hostname', isHostname, 'must be a hostname');
  if (r.ip) rule('ip', (v) => isIP(v) !== 0, 'must be an IP address');
  if (r.ipv4) rule('ipv4', (v) => isIP(v) === 4, 'must be an IPv4 address');
  if (r.ipv6) rule('ipv6', (v) => isIP(v) === 6, 'must be an IPv6 address');
  if (r.address) rule('address', (v) => isIP(v) !== 0 || isHostname(v), 'must be an IP address or a hostname');
  if (r.uri) rule('uri', (v) => isUri(v, true), 'must be an absolute URI');
  if (r.uri_ref) rule('uri_ref', (v) => isUri(v, false), 'must be a URI reference');
  if (r.uuid) rule('uuid', (v) => UUID.test(v), 'must be a UUID');
  return combine((value) => (typeof value === 'string' ? value : undefined), (v) => r.ignore_empty === true && v === '', parts);
}

export function bytesCheck(r: BytesRules): Check {
  const b64 = (s: string | undefined): Buffer | undefined => (s === undefined ? undefined : Buffer.from(s, 'latin1'));
  const constant = b64(r.const);
  let pattern: RegExp | undefined;
  try {
    pattern = r.pattern !== undefined ? new RegExp(r.pattern) : undefined;
  } catch {
    pattern = undefined;
  }
  return (value, report) => {
    let bytes: Buffer;
    try {
      bytes = Buffer.from(parseBytes(value));
    } catch {
      return;
    }
    if (r.ignore_empty && bytes.length === 0) return;
    if (constant && !bytes.equals(constant)) report.fail('bytes.const', 'must equal the required constant');
    if (r.len !== undefined && bytes.length !== r.len) report.fail('bytes.len', `must be exactly ${r.len} bytes long, got ${bytes.length}`);
    if (r.min_len !== undefined && bytes.length < r.min_len) report.fail('bytes.min_len', `must be at least ${r.min_len} bytes long, got ${bytes.length}`);
    if (r.max_len !== undefined && bytes.length > r.max_len) report.fail('bytes.max_len', `must be at most ${r.max_len} bytes long, got ${bytes.length}`);
    if (pattern && !pattern.test(bytes.toString('latin1'))) report.fail('bytes.pattern', `must match the pattern ${show(r.pattern)}`);
    if (r.prefix !== undefined && !bytes.subarray(0, r.prefix.length).equals(b64(r.prefix)!)) report.fail('bytes.prefix', 'must start with the required prefix');
    if (r.suffix !== undefined && !bytes.subarray(bytes.length - r.suffix.length).equals(b64(r.suffix)!)) report.fail('bytes.suffix', 'must end with the required suffix');
    if (r.contains !== undefined && !bytes.includes(b64(r.contains)!)) report.fail('bytes.contains', 'must contain the required bytes');
    if (r.in && !r.in.some((x) => bytes.equals(b64(x)!))) report.fail('bytes.in', 'must be one of the allowed values');
    if (r.not_in?.some((x) => bytes.equals(b64(x)!))) report.fail('bytes.not_in', 'must not be one of the refused values');
    if (r.ip && bytes.length !== 4 && bytes.length !== 16) report.fail('bytes.ip', `must be an IP address in bytes (4 or 16), got ${bytes.length}`);
    if (r.ipv4 && bytes.length !== 4) report.fail('bytes.ipv4', `must be an IPv4 address in bytes (4), got ${bytes.length}`);
    if (r.ipv6 && bytes.length !== 16) report.fail('bytes.ipv6', `must be an IPv6 address in bytes (16), got ${bytes.length}`);
  };
}

export function boolCheck(r: { const?: boolean }): Check {
  return (value, report) => {
    if (typeof value === 'boolean' && r.const !== undefined && value !== r.const) report.fail('bool.const', `must be ${r.const}`);
  };
}

export function enumCheck(e: EnumType, r: EnumRules): Check {
  return (value, report) => {
    const n = typeof value === 'string' ? e.byName.get(value) : typeof value === 'number' ? value : undefined;
    if (n === undefined) return; // an unknown name is the codec's error
    const got = show(value);
    if (r.defined_only && !e.byNumber.has(n)) report.fail('enum.defined_only', `must be a value defined in ${e.fullName}, got ${got}`);
    if (r.const !== undefined && n !== r.const) report.fail('enum.const', `must be ${e.byNumber.get(r.const) ?? r.const}, got ${got}`);
    if (r.in && !r.in.includes(n)) report.fail('enum.in', `must be one of ${r.in.map((x) => e.byNumber.get(x) ?? x).join(', ')}, got ${got}`);
    if (r.not_in?.includes(n)) report.fail('enum.not_in', `must not be ${got}`);
  };
}

// ---- Duration, Timestamp, Any ----

function sn(v: SecondsNanos | undefined): [number, number] | undefined {
  return v === undefined ? undefined : [Number(v.seconds ?? 0), v.nanos ?? 0];
}

function cmpSN(a: [number, number], b: [number, number]): number {
  return a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

function durationText(v: [number, number]): string {
  const nanos = v[1] === 0 ? '' : `.${String(Math.abs(v[1])).padStart(9, '0').replace(/0+$/, '')}`;
  return `${v[0] < 0 || v[1] < 0 ? '-' : ''}${Math.abs(v[0])}${nanos}s`;
}

export function durationCheck(r: DurationRules): Check {
  const bounds = { gt: sn(r.gt), gte: sn(r.gte), lt: sn(r.lt), lte: sn(r.lte) };
  const range = rangeCheck(bounds, cmpSN, durationText);
  const rangeRule = boundsRule('duration', r);
  const constant = sn(r.const);
  const within = r.in?.map((x) => sn(x)!);
  const without = r.not_in?.map((x) => sn(x)!);
  return (value, report) => {
    let d: [number, number];
    try {
      const p = parseDuration(value);
      d = [p.seconds, p.nanos];
    } catch {
      return;
    }
    const got = show(value);
    if (constant && cmpSN(d, constant) !== 0) report.fail('duration.const', `must be ${durationText(constant)}, got ${got}`);
    const bad = range?.(d);
    if (bad) report.fail(rangeRule, `${bad}, got ${got}`);
    if (within && !within.some((x) => cmpSN(x, d) === 0)) report.fail('duration.in', `must be one of ${within.map(durationText).join(', ')}, got ${got}`);
    if (without?.some((x) => cmpSN(x, d) === 0)) report.fail('duration.not_in', `must not be ${got}`);
  };
}

export function timestampCheck(r: TimestampRules): Check {
  const bounds = { gt: sn(r.gt), gte: sn(r.gte), lt: sn(r.lt), lte: sn(r.lte) };
  const text = (v: [number, number]): string => new Date(v[0] * 1000 + v[1] / 1e6).toISOString();
  const range = rangeCheck(bounds, cmpSN, text);
  const rangeRule = boundsRule('timestamp', r);
  const constant = sn(r.const);
  const within = sn(r.within);
  return (value, report) => {
    let t: [number, number];
    try {
      const p = parseTimestamp(value);
      t = [p.seconds, p.nanos];
    } catch {
      return;
    }
    const got = show(value);
    if (constant && cmpSN(t, constant) !== 0) report.fail('timestamp.const', `must be ${text(constant)}, got ${got}`);
    const bad = range?.(t);
    if (bad) report.fail(rangeRule, `${bad}, got ${got}`);
    const nowMs = Date.now();
    const ms = t[0] * 1000 + t[1] / 1e6;
    if (r.lt_now && ms >= nowMs) report.fail('timestamp.lt_now', `must be in the past, got ${got}`);
    if (r.gt_now && ms <= nowMs) report.fail('timestamp.gt_now', `must be in the future, got ${got}`);
    if (within && Math.abs(ms - nowMs) > within[0] * 1000 + within[1] / 1e6) report.fail('timestamp.within', `must be within ${durationText(within)} of now, got ${got}`);
  };
}

export function anyCheck(r: AnyRules): Check {
  return (value, report) => {
    const url = value && typeof value === 'object' ? (value as Record<string, unknown>)['@type'] : undefined;
    if (typeof url !== 'string') return;
    if (r.in && !r.in.includes(url)) report.fail('any.in', `@type must be one of ${r.in.join(', ')}, got ${show(url)}`);
    if (r.not_in?.includes(url)) report.fail('any.not_in', `@type must not be ${show(url)}`);
  };
}
