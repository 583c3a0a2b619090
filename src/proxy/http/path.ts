// The connection manager's :path handling before routing: normalisation as RFC 3986 describes
// (dot segments, percent-encoding of unreserved characters), merging of slashes, and the
// configured action for escaped slashes (%2F, %5C). Paths that need none of it (the common
// case) are returned as they are, after one scan.
import type { EscapedSlashes } from './hcm_config.js';

export type PathResult =
  | { kind: 'ok'; path: string }
  | { kind: 'reject' }
  | { kind: 'redirect'; path: string };

export function processPath(path: string, normalize: boolean, mergeSlashes: boolean, escaped: EscapedSlashes): PathResult {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const query = q < 0 ? '' : path.slice(q);
  let special = false;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === 37 /* % */ || c === 46 /* . */ || c === 92 /* \ */ || (c === 47 && p.charCodeAt(i + 1) === 47)) { special = true; break; }
  }
  if (!special) return { kind: 'ok', path };
  let out = p;
  let hadEscapedSlash = false;
  if (escaped !== 'KEEP_UNCHANGED' && escaped !== 'IMPLEMENTATION_SPECIFIC_DEFAULT' && /%(2f|5c)/i.test(out)) {
    if (escaped === 'REJECT_REQUEST') return { kind: 'reject' };
    out = out.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    hadEscapedSlash = true;
  }
  if (normalize) {
    const n = normalizePath(out);
    if (n === undefined) return { kind: 'reject' };
    out = n;
  }
  if (mergeSlashes) out = out.replace(/\/{2,}/g, '/');
  const result = out + query;
  if (hadEscapedSlash && escaped === 'UNESCAPE_AND_REDIRECT') return { kind: 'redirect', path: result };
  return { kind: 'ok', path: result };
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** RFC 3986 §6.2.2 normalisation; undefined when the path is malformed (bad %-escape). */
export function normalizePath(p: string): string | undefined {
  // Percent-encoding: decode unreserved characters, upper-case the hex of the rest.
  let s = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '%') {
      const hex = p.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      const ch = String.fromCharCode(parseInt(hex, 16));
      s += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
      i += 2;
    } else if (c === '\\') s += '/';
    else s += c;
  }
  if (!s.startsWith('/')) return s;
  // Remove dot segments.
  const segs = s.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i]!;
    if (seg === '.') { if (i === segs.length - 1) out.push(''); continue; }
    if (seg === '..') { out.pop(); if (i === segs.length - 1) out.push(''); continue; }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}
