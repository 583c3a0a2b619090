// The view of a request that route matching reads. The HTTP codecs build one per request; the
// query string and cookies are parsed only when a matcher asks for them.
import type { HeaderList } from '../http/headers.js';

export interface MatchRequest {
  method: string;
  /** :path after the connection manager's normalisation, with query. */
  path: string;
  /** :path without query and fragment (what path matchers compare). */
  pathOnly: string;
  /** :authority (Host), as received. */
  authority: string;
  scheme: string;
  headers: HeaderList;
  tls: boolean;
  /** Whether the client presented / we validated a certificate (RouteMatch.tls_context). */
  peerCertPresented: boolean;
  /** Lazily parsed; undefined until first needed. */
  queryParams?: Map<string, string> | undefined;
  cookies?: Map<string, string> | undefined;
}

export function stripQuery(path: string): string {
  const q = path.indexOf('?');
  const f = path.indexOf('#');
  const end = q < 0 ? f : f < 0 ? q : Math.min(q, f);
  return end < 0 ? path : path.slice(0, end);
}

/** First value of each query parameter, percent-decoded (Envoy matches on the first value). */
export function queryParams(req: MatchRequest): Map<string, string> {
  if (req.queryParams) return req.queryParams;
  const out = new Map<string, string>();
  const q = req.path.indexOf('?');
  if (q >= 0) {
    let s = req.path.slice(q + 1);
    const hash = s.indexOf('#');
    if (hash >= 0) s = s.slice(0, hash);
    for (const part of s.split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const k = decode(eq < 0 ? part : part.slice(0, eq));
      if (!out.has(k)) out.set(k, eq < 0 ? '' : decode(part.slice(eq + 1)));
    }
  }
  req.queryParams = out;
  return out;
}

export function cookies(req: MatchRequest): Map<string, string> {
  if (req.cookies) return req.cookies;
  const out = new Map<string, string>();
  const h = req.headers;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] !== 'cookie') continue;
    for (const part of h[i + 1]!.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const k = part.slice(0, eq).trim();
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      if (!out.has(k)) out.set(k, v);
    }
  }
  req.cookies = out;
  return out;
}

function decode(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
