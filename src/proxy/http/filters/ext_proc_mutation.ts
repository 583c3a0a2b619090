// What ext_proc exchanges about headers: the HeaderMap sent to the processor (pseudo-headers
// included, filtered by the forwarding rules) and the HeaderMutation it sends back, checked
// against the HeaderMutationRules before anything changes. Envoy's rules: routing headers (host,
// :authority, :scheme, :method) and x-envoy-* headers may not be set unless allowed; system
// headers (':' and host) may never be removed; a disallowed or invalid mutation is skipped and
// counted, or fails the stream when disallow_is_error is set.
import { addHeader, hasHeader, removeHeader, setHeader, validHeaderName, validHeaderValue, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import type { ExtProcConfig, MutationRules } from './ext_proc_config.js';

/** A HeaderValue in the proto3 JSON mapping; values go out as raw_value (base64), as Envoy sends them. */
export interface HeaderValueJson { key?: string; value?: string; rawValue?: string }
interface HeaderValueOptionJson { header?: HeaderValueJson; append?: boolean | { value?: boolean }; appendAction?: string; keepEmptyValue?: boolean }
export interface HeaderMutationJson { setHeaders?: HeaderValueOptionJson[]; removeHeaders?: string[] }

const raw = (v: string): string => Buffer.from(v, 'latin1').toString('base64');

function forwarded(cfg: ExtProcConfig, name: string): boolean {
  if (cfg.allowedHeaders && !cfg.allowedHeaders.some((m) => m(name))) return false;
  if (cfg.disallowedHeaders && cfg.disallowedHeaders.some((m) => m(name))) return false;
  return true;
}

function push(cfg: ExtProcConfig, out: HeaderValueJson[], key: string, value: string): void {
  if (forwarded(cfg, key)) out.push({ key, rawValue: raw(value) });
}

/** The request's headers as a HeaderMap, pseudo-headers first. */
export function requestHeaderMap(cfg: ExtProcConfig, s: HttpStream): { headers: HeaderValueJson[] } {
  const out: HeaderValueJson[] = [];
  push(cfg, out, ':authority', s.authority);
  push(cfg, out, ':path', s.path);
  push(cfg, out, ':method', s.method);
  push(cfg, out, ':scheme', s.scheme);
  const h = s.headers;
  for (let i = 0; i < h.length; i += 2) push(cfg, out, h[i]!, h[i + 1]!);
  return { headers: out };
}

/** The response's headers as a HeaderMap, :status first. */
export function responseHeaderMap(cfg: ExtProcConfig, s: HttpStream): { headers: HeaderValueJson[] } {
  const out: HeaderValueJson[] = [];
  push(cfg, out, ':status', String(s.responseCode));
  const h = s.responseHeaders ?? [];
  for (let i = 0; i < h.length; i += 2) push(cfg, out, h[i]!, h[i + 1]!);
  return { headers: out };
}

export function trailerMap(cfg: ExtProcConfig, t: HeaderList): { headers: HeaderValueJson[] } {
  const out: HeaderValueJson[] = [];
  for (let i = 0; i < t.length; i += 2) push(cfg, out, t[i]!, t[i + 1]!);
  return { headers: out };
}

const ROUTING = new Set(['host', ':authority', ':scheme', ':method']);

/** Whether the rules let the processor set (or remove) this header. */
export function mutationAllowed(r: MutationRules, name: string, removing: boolean): boolean {
  const system = name.charCodeAt(0) === 58 /* : */ || name === 'host';
  if (removing && system) return false;
  if (r.disallowExpression?.fullMatch(name)) return false;
  if (r.allowExpression?.fullMatch(name)) return true;
  if (r.disallowAll) return false;
  if (system) {
    if (r.disallowSystem) return false;
    if (ROUTING.has(name)) return r.allowAllRouting;
    return true;
  }
  if (name.startsWith('x-envoy')) return r.allowEnvoy;
  return true;
}

function valueOf(h: HeaderValueJson): string {
  if (h.rawValue) return Buffer.from(h.rawValue, 'base64').toString('latin1');
  return h.value ?? '';
}

/** Where a mutation lands: the request, the response, or a trailer block. */
export type Target = { kind: 'request'; s: HttpStream } | { kind: 'response'; s: HttpStream } | { kind: 'trailers'; list: HeaderList };

function listOf(t: Target): HeaderList {
  return t.kind === 'trailers' ? t.list : t.kind === 'request' ? t.s.headers : t.s.responseHeaders!;
}

/** Sets a pseudo-header on the stream; false when the name or value is not one the target has. */
function setPseudo(t: Target, name: string, value: string): boolean {
  if (t.kind === 'trailers') return false;
  const s = t.s;
  if (t.kind === 'response') {
    if (name !== ':status') return false;
    const code = Number(value);
    if (!/^\d{3}$/.test(value) || code < 200 || code > 599) return false;
    s.responseCode = code;
    return true;
  }
  switch (name) {
    case ':path': {
      if (!value.startsWith('/')) return false;
      s.path = value;
      const q = value.indexOf('?');
      s.pathOnly = q < 0 ? value : value.slice(0, q);
      s.queryParams = undefined;
      return true;
    }
    case ':authority': s.authority = value; return true;
    case ':method': s.method = value; return true;
    case ':scheme': if (value !== 'http' && value !== 'https') return false; s.scheme = value; return true;
    default: return false;
  }
}

export interface MutationOutcome {
  /** Mutations skipped by the rules or for invalid names/values. */
  rejected: number;
  /** A rejection with disallow_is_error set: the stream fails. */
  error: boolean;
}

/**
 * Applies a HeaderMutation. A header option's `append` (when present) or its append_action
 * decides between adding and replacing; with neither, the value replaces (ext_proc's "add or
 * replace"). Setting host also sets :authority, as the two are one header here.
 */
export function applyHeaderMutation(r: MutationRules, m: HeaderMutationJson | undefined, t: Target, out: MutationOutcome): void {
  if (!m) return;
  const list = listOf(t);
  const reject = (): void => { out.rejected++; if (r.disallowIsError) out.error = true; };
  for (const name0 of m.removeHeaders ?? []) {
    const name = name0.toLowerCase();
    if (!mutationAllowed(r, name, true)) { reject(); continue; }
    removeHeader(list, name);
  }
  for (const o of m.setHeaders ?? []) {
    const name = o.header?.key?.toLowerCase() ?? '';
    const value = o.header ? valueOf(o.header) : '';
    const pseudo = name.charCodeAt(0) === 58;
    if (!name || (!pseudo && !validHeaderName(name)) || !validHeaderValue(value) || !mutationAllowed(r, name, false)) { reject(); continue; }
    if (pseudo || (name === 'host' && t.kind === 'request')) {
      if (!setPseudo(t, name === 'host' ? ':authority' : name, value)) reject();
      continue;
    }
    const a = o.append;
    const appendSet = a !== undefined;
    const append = typeof a === 'boolean' ? a : !!a?.value;
    if (appendSet) {
      if (append) addHeader(list, name, value); else setHeader(list, name, value);
      continue;
    }
    switch (o.appendAction) {
      case 'APPEND_IF_EXISTS_OR_ADD': addHeader(list, name, value); break;
      case 'ADD_IF_ABSENT': if (!hasHeader(list, name)) addHeader(list, name, value); break;
      case 'OVERWRITE_IF_EXISTS': if (hasHeader(list, name)) setHeader(list, name, value); break;
      default: setHeader(list, name, value);
    }
  }
  if (t.kind === 'request') t.s.cookies = undefined;
}
