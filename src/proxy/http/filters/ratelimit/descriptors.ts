// Rate limit descriptors: what a request "is" for rate limiting, as Envoy builds it from a list
// of envoy.config.route.v3.RateLimit policies. Each policy's actions yield one entry each
// (key, value); if any action does not apply, the policy yields no descriptor at all, so a limit
// only counts the requests its policy selects. Both rate limit filters (local and global) use
// these; the rules are Envoy's, the code ours.
import { isIP } from 'node:net';
import { ConfigError } from '../../../config/errors.js';
import { at, bool, field, list, num, numOr, obj, str, type Json } from '../../../config/json.js';
import { compileHeaderMatcher } from '../../../router/route_match.js';
import { queryParams } from '../../../router/request.js';
import { compileStringMatcher, type StringMatch } from '../../../router/string_match.js';
import { getJoined } from '../../headers.js';
import type { HttpStream } from '../../stream.js';

/** One descriptor a request produced: entries in order, and what it costs. */
export interface Descriptor {
  entries: DescriptorEntry[];
  /** Hits this request takes (undefined: the request's default, 1). */
  hitsAddend: number | undefined;
  /** A limit chosen at request time (Override.dynamic_metadata), for the rate limit service. */
  limit: { requestsPerUnit: number; unit: string } | undefined;
}

export interface DescriptorEntry {
  key: string;
  value: string;
}

type Action = (s: HttpStream) => DescriptorEntry | null | undefined;
/** null: the action does not apply (no descriptor); undefined: skip this entry only. */

export interface RateLimitPolicy {
  stage: number;
  disableKey: string;
  actions: Action[];
  /** A fixed hits addend, or one computed from the stream (at request or stream end). */
  hitsAddend: ((s: HttpStream) => number | undefined) | undefined;
  applyOnStreamDone: boolean;
  limitOverride: ((s: HttpStream) => Descriptor['limit']) | undefined;
}

export function compileRateLimits(items: Json[], path: string): RateLimitPolicy[] {
  return items.map((r, i) => compileRateLimit(r, at(path, i)));
}

function compileRateLimit(r: Json, path: string): RateLimitPolicy {
  const actions = list(r, 'actions', path).map((a: Json, i: number) => compileAction(a, at(at(path, 'actions'), i)));
  if (!actions.length) throw new ConfigError(at(path, 'actions'), 'at least one action is required');
  const ha = obj(r, 'hitsAddend', path);
  let hitsAddend: RateLimitPolicy['hitsAddend'];
  if (ha) {
    const hp = at(path, 'hitsAddend');
    const n = num(ha, 'number', hp);
    const format = str(ha, 'format', hp);
    if (n !== undefined && format) throw new ConfigError(hp, 'only one of number and format may be set');
    if (n !== undefined) hitsAddend = () => n;
    else if (format) hitsAddend = compileHitsFormat(format, at(hp, 'format'));
  }
  const lo = obj(r, 'limit', path);
  let limitOverride: RateLimitPolicy['limitOverride'];
  if (lo) {
    const dm = obj(lo, 'dynamicMetadata', at(path, 'limit'));
    if (!dm) throw new ConfigError(at(path, 'limit'), 'only dynamic_metadata limit overrides are supported');
    const key = metadataKey(obj(dm, 'metadataKey', at(path, 'limit.dynamicMetadata')), at(path, 'limit.dynamicMetadata.metadataKey'));
    limitOverride = (s) => {
      // The metadata holds {requests_per_unit, unit}, as the rate limit service's RateLimit.
      const v = readMetadata(s, key) as Record<string, unknown> | undefined;
      if (!v || typeof v !== 'object') return undefined;
      const rpu = Number(v['requests_per_unit'] ?? v['requestsPerUnit']);
      const unit = String(v['unit'] ?? '');
      if (!Number.isFinite(rpu) || !unit) return undefined;
      return { requestsPerUnit: rpu, unit: unit.toUpperCase() };
    };
  }
  return {
    stage: numOr(r, 'stage', path, 0),
    disableKey: str(r, 'disableKey', path),
    actions,
    hitsAddend,
    applyOnStreamDone: bool(r, 'applyOnStreamDone', path),
    limitOverride,
  };
}

/** The descriptor a policy yields for a request, or undefined when one of its actions does not apply. */
export function buildDescriptor(p: RateLimitPolicy, s: HttpStream, atStreamDone = false): Descriptor | undefined {
  const entries: DescriptorEntry[] = [];
  for (const a of p.actions) {
    const e = a(s);
    if (e === null) return undefined;
    if (e) entries.push(e);
  }
  if (!entries.length) return undefined;
  const hits = p.hitsAddend ? p.hitsAddend(s) : undefined;
  // A cost read from the stream that is not (yet) there does not count.
  if (p.hitsAddend && hits === undefined && atStreamDone) return undefined;
  return { entries, hitsAddend: hits, limit: p.limitOverride?.(s) };
}

function compileAction(a: Json, path: string): Action {
  const keys = Object.keys(a).filter((k) => a[k] !== undefined && a[k] !== null);
  if (keys.length !== 1) throw new ConfigError(path, 'exactly one action specifier is required');
  const kind = keys[0]!;
  const c = a[kind] as Json;
  const p = at(path, kind);
  switch (kind) {
    case 'sourceCluster': case 'source_cluster':
      // The local service cluster is the --service-cluster of the primary; workers do not know it.
      throw new ConfigError(p, 'the source_cluster action is not supported by this proxy');
    case 'destinationCluster': case 'destination_cluster':
      return (s) => {
        const r = s.route?.action;
        return r?.kind === 'route' && r.cluster ? { key: 'destination_cluster', value: r.cluster } : null;
      };
    case 'requestHeaders': case 'request_headers': {
      const name = str(c, 'headerName', p).toLowerCase();
      const key = str(c, 'descriptorKey', p);
      if (!name || !key) throw new ConfigError(p, 'header_name and descriptor_key are required');
      const skip = bool(c, 'skipIfAbsent', p);
      return (s) => {
        const v = name === ':authority' || name === 'host' ? s.authority : name === ':path' ? s.path : name === ':method' ? s.method : getJoined(s.headers, name);
        if (v === undefined) return skip ? undefined : null;
        return { key, value: v };
      };
    }
    case 'remoteAddress': case 'remote_address':
      return (s) => {
        const v = clientAddress(s);
        return v ? { key: 'remote_address', value: v } : null;
      };
    case 'maskedRemoteAddress': case 'masked_remote_address': {
      const v4 = numOr(c, 'v4PrefixMaskLen', p, 32);
      const v6 = numOr(c, 'v6PrefixMaskLen', p, 128);
      return (s) => {
        const addr = clientAddress(s);
        const masked = addr && maskAddress(addr, v4, v6);
        return masked ? { key: 'masked_remote_address', value: masked } : null;
      };
    }
    case 'genericKey': case 'generic_key': {
      const value = str(c, 'descriptorValue', p);
      if (!value) throw new ConfigError(at(p, 'descriptorValue'), 'required');
      const e = { key: str(c, 'descriptorKey', p) || 'generic_key', value };
      return () => e;
    }
    case 'headerValueMatch': case 'header_value_match': {
      const e = { key: str(c, 'descriptorKey', p) || 'header_match', value: str(c, 'descriptorValue', p) };
      if (!e.value) throw new ConfigError(at(p, 'descriptorValue'), 'required');
      const expect = bool(c, 'expectMatch', p, true);
      const matchers = list(c, 'headers', p).map((h: Json, i: number) => compileHeaderMatcher(h, at(at(p, 'headers'), i)));
      if (!matchers.length) throw new ConfigError(at(p, 'headers'), 'at least one header matcher is required');
      return (s) => (matchers.every((m) => m(s)) === expect ? e : null);
    }
    case 'queryParameterValueMatch': case 'query_parameter_value_match': {
      const e = { key: str(c, 'descriptorKey', p) || 'query_match', value: str(c, 'descriptorValue', p) };
      if (!e.value) throw new ConfigError(at(p, 'descriptorValue'), 'required');
      const expect = bool(c, 'expectMatch', p, true);
      const matchers = list(c, 'queryParameters', p).map((q: Json, i: number) => compileQueryMatcher(q, at(at(p, 'queryParameters'), i)));
      if (!matchers.length) throw new ConfigError(at(p, 'queryParameters'), 'at least one query parameter matcher is required');
      return (s) => (matchers.every((m) => m(s)) === expect ? e : null);
    }
    case 'remoteAddressMatch': case 'remote_address_match': {
      const am = obj(c, 'addressMatcher', p) ?? {};
      const ranges = list(am, 'ranges', at(p, 'addressMatcher')).map((r: Json, i: number) => compileCidr(r, at(at(p, 'addressMatcher.ranges'), i)));
      const invert = bool(am, 'invertMatch', at(p, 'addressMatcher'));
      const key = str(c, 'descriptorKey', p);
      if (!key) throw new ConfigError(at(p, 'descriptorKey'), 'required');
      const value = str(c, 'descriptorValue', p);
      // The value may be the client address itself (one bucket per address).
      const perAddress = value === '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' || value === '%DOWNSTREAM_REMOTE_ADDRESS%';
      if (value.includes('%') && !perAddress) throw new ConfigError(at(p, 'descriptorValue'), `unsupported formatter in ${JSON.stringify(value)}`);
      return (s) => {
        const addr = clientAddress(s);
        if (!addr) return null;
        const inRange = ranges.some((r) => r(addr));
        if (inRange === invert) return null;
        return { key, value: perAddress ? addr : value };
      };
    }
    case 'metadata': case 'dynamicMetadata': case 'dynamic_metadata': {
      const key = str(c, 'descriptorKey', p);
      const mk = metadataKey(obj(c, 'metadataKey', p), at(p, 'metadataKey'));
      const dflt = str(c, 'defaultValue', p);
      const source = str(c, 'source', p, 'DYNAMIC');
      if (source !== 'DYNAMIC') throw new ConfigError(at(p, 'source'), 'only DYNAMIC metadata is supported');
      const skip = bool(c, 'skipIfAbsent', p);
      return (s) => {
        const v = readMetadata(s, mk);
        const text = v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v);
        if (text) return { key, value: text };
        if (dflt) return { key, value: dflt };
        return skip ? undefined : null;
      };
    }
    case 'queryParameters': case 'query_parameters': {
      const name = str(c, 'queryParameterName', p);
      const key = str(c, 'descriptorKey', p);
      const skip = bool(c, 'skipIfAbsent', p);
      return (s) => {
        const v = queryParams(s).get(name);
        if (v === undefined) return skip ? undefined : null;
        return { key, value: v };
      };
    }
    default:
      throw new ConfigError(p, `unsupported rate limit action ${kind}`);
  }
}

function compileQueryMatcher(q: Json, path: string): (s: HttpStream) => boolean {
  const name = str(q, 'name', path);
  const sm = obj(q, 'stringMatch', path);
  const present = field(q, 'presentMatch') === true;
  const m: StringMatch | undefined = sm ? compileStringMatcher(sm, at(path, 'stringMatch')) : undefined;
  return (s) => {
    const v = queryParams(s).get(name);
    if (v === undefined) return false;
    return m ? m(v) : present || true;
  };
}

/** The metadata key of a MetadataKey: namespace (key) and path of field names. */
interface MetadataKey { namespace: string; path: string[] }

function metadataKey(k: Json | undefined, path: string): MetadataKey {
  if (!k) throw new ConfigError(path, 'required');
  const namespace = str(k, 'key', path);
  const segs = list(k, 'path', path).map((seg: Json, i: number) => {
    const name = str(seg, 'key', at(at(path, 'path'), i));
    if (!name) throw new ConfigError(at(at(path, 'path'), i), 'a path segment needs a key');
    return name;
  });
  return { namespace, path: segs };
}

export function readMetadata(s: HttpStream, k: MetadataKey): unknown {
  let v: unknown = s.dynamicMetadata?.[k.namespace];
  for (const seg of k.path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** A hits addend format: a number read from the stream, e.g. %DYNAMIC_METADATA(ns:key)%. */
function compileHitsFormat(format: string, path: string): (s: HttpStream) => number | undefined {
  const m = /^%([A-Z_]+)(?:\(([^)]*)\))?%$/.exec(format);
  if (!m) throw new ConfigError(path, `unsupported hits addend format ${JSON.stringify(format)}`);
  const toNumber = (v: unknown): number | undefined => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
  };
  switch (m[1]) {
    case 'DYNAMIC_METADATA': {
      const [ns = '', ...rest] = (m[2] ?? '').split(':');
      if (!ns) throw new ConfigError(path, 'DYNAMIC_METADATA needs a namespace');
      const key = { namespace: ns, path: rest };
      return (s) => toNumber(readMetadata(s, key));
    }
    case 'BYTES_RECEIVED': return (s) => s.bytesReceived;
    case 'BYTES_SENT': return (s) => s.bytesSent;
    case 'RESPONSE_CODE': return (s) => s.responseCode;
    default: throw new ConfigError(path, `unsupported hits addend format %${m[1]}%`);
  }
}

/** The client's address as Envoy sees it: the peer, or the trusted hop of x-forwarded-for. */
export function clientAddress(s: HttpStream): string {
  const hops = s.hcm.xffNumTrustedHops;
  let addr = s.downstream.remoteAddress;
  if (hops > 0) {
    const xff = getJoined(s.headers, 'x-forwarded-for');
    if (xff) {
      const list = xff.split(',').map((x) => x.trim());
      // Our own hop appended the peer when use_remote_address is on.
      const i = list.length - 1 - hops - (s.hcm.useRemoteAddress && !s.hcm.skipXffAppend ? 1 : 0) + 1;
      if (i >= 0 && i < list.length && isIP(list[i]!)) addr = list[i]!;
    }
  }
  return addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

/** `a.b.c.d/len` of an address with the mask applied, as Envoy writes masked_remote_address. */
export function maskAddress(addr: string, v4: number, v6: number): string | undefined {
  if (isIP(addr) === 4) {
    const n = ipv4ToInt(addr);
    const masked = v4 === 0 ? 0 : (n & (~0 << (32 - v4))) >>> 0;
    return `${[24, 16, 8, 0].map((sh) => (masked >>> sh) & 255).join('.')}/${v4}`;
  }
  if (isIP(addr) === 6) {
    const words = ipv6Words(addr);
    let bits = v6;
    const out = words.map((w) => { const keep = Math.max(0, Math.min(16, bits)); bits -= 16; return keep === 0 ? 0 : w & (0xffff << (16 - keep)) & 0xffff; });
    return `${compressIpv6(out)}/${v6}`;
  }
  return undefined;
}

function ipv4ToInt(a: string): number {
  return a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

function ipv6Words(a: string): number[] {
  let s = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) { const n = ipv4ToInt(v4[1]!); s = `${s.slice(0, -v4[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`; }
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16) || 0);
}

function compressIpv6(w: number[]): string {
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** A CidrRange (address_prefix, prefix_len) as a predicate on addresses. */
export function compileCidr(r: Json, path: string): (addr: string) => boolean {
  const prefix = str(r, 'addressPrefix', path);
  const len = numOr(r, 'prefixLen', path, isIP(prefix) === 6 ? 128 : 32);
  if (isIP(prefix) === 4) {
    if (len > 32) throw new ConfigError(at(path, 'prefixLen'), 'at most 32 for IPv4');
    const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
    const base = (ipv4ToInt(prefix) & mask) >>> 0;
    return (addr) => isIP(addr) === 4 && ((ipv4ToInt(addr) & mask) >>> 0) === base;
  }
  if (isIP(prefix) === 6) {
    if (len > 128) throw new ConfigError(at(path, 'prefixLen'), 'at most 128 for IPv6');
    const base = maskAddress(prefix, 32, len);
    return (addr) => isIP(addr) === 6 && maskAddress(addr, 32, len) === base;
  }
  throw new ConfigError(at(path, 'addressPrefix'), `invalid address ${JSON.stringify(prefix)}`);
}
