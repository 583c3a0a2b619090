// Header lists are flat arrays [name0, value0, name1, value1, ...] with lower-case names, the
// shape llhttp hands us: no per-request Map or object is built on the hot path. Lists are small
// (tens of entries), so linear scans beat hashing.

export type HeaderList = string[];

export function getHeader(h: HeaderList, name: string): string | undefined {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
  return undefined;
}

/** All values of a header joined with ",", as Envoy presents a repeated header to matchers. */
export function getJoined(h: HeaderList, name: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] === name) out = out === undefined ? h[i + 1] : `${out},${h[i + 1]}`;
  }
  return out;
}

export function hasHeader(h: HeaderList, name: string): boolean {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return true;
  return false;
}

/** Removes every occurrence of `name` in place; returns whether one was there. */
export function removeHeader(h: HeaderList, name: string): boolean {
  let w = 0;
  for (let r = 0; r < h.length; r += 2) {
    if (h[r] === name) continue;
    if (w !== r) { h[w] = h[r]!; h[w + 1] = h[r + 1]!; }
    w += 2;
  }
  const removed = w !== h.length;
  h.length = w;
  return removed;
}

export function setHeader(h: HeaderList, name: string, value: string): void {
  let found = -1;
  let w = 0;
  for (let r = 0; r < h.length; r += 2) {
    if (h[r] === name) {
      if (found >= 0) continue; // later duplicates go
      found = w;
    }
    if (w !== r) { h[w] = h[r]!; h[w + 1] = h[r + 1]!; }
    w += 2;
  }
  h.length = w;
  if (found >= 0) h[found + 1] = value;
  else h.push(name, value);
}

export function addHeader(h: HeaderList, name: string, value: string): void {
  h.push(name, value);
}

/** Lower-cases the names of a raw llhttp header list in place. */
export function lowerNames(h: string[]): string[] {
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i]!;
    // Most clients already send lower-case names; avoid the allocation when so.
    if (hasUpper(n)) h[i] = n.toLowerCase();
  }
  return h;
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/**
 * Hop-by-hop headers that a proxy never forwards (RFC 9110 §7.6.1, and what Envoy strips):
 * the framing and connection-management headers of one hop.
 */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'http2-settings']);

/** Also removes headers that a `Connection:` header names as hop-by-hop. */
export function stripHopByHop(h: HeaderList, keepUpgrade: boolean): void {
  // Lower-cased once here rather than for each header name it is checked against.
  const conn = getJoined(h, 'connection')?.toLowerCase();
  let w = 0;
  for (let r = 0; r < h.length; r += 2) {
    const n = h[r]!;
    if (HOP_BY_HOP.has(n) || (conn !== undefined && n !== 'connection' && listsLowerToken(conn, n))) {
      if (n === 'upgrade' && keepUpgrade) { /* kept */ } else if (n === 'te' && isTrailersOnly(h[r + 1]!)) { /* te: trailers is kept */ } else continue;
    }
    if (w !== r) { h[w] = n; h[w + 1] = h[r + 1]!; }
    w += 2;
  }
  h.length = w;
}

function isTrailersOnly(v: string): boolean {
  return v.trim().toLowerCase() === 'trailers';
}

/** Whether a comma-separated header value lists `token` (case-insensitive). */
export function listsToken(value: string, token: string): boolean {
  return listsLowerToken(value.toLowerCase(), token);
}

/** listsToken for a value already in lower case. */
function listsLowerToken(v: string, token: string): boolean {
  let start = 0;
  while (start <= v.length) {
    let end = v.indexOf(',', start);
    if (end < 0) end = v.length;
    if (v.slice(start, end).trim() === token) return true;
    start = end + 1;
  }
  return false;
}

/** Envoy's header name check: RFC 7230 token characters only. */
export function validHeaderName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(TOKEN[c >> 5]! & (1 << (c & 31)))) return false;
  }
  return true;
}

const TOKEN = (() => {
  const t = new Uint32Array(8);
  const chars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (const ch of chars) { const c = ch.charCodeAt(0); t[c >> 5]! |= 1 << (c & 31); }
  return t;
})();

/** Header values must not contain CR, LF or NUL (response splitting). */
export function validHeaderValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return false;
  }
  return true;
}

/**
 * Original spellings of header names (HTTP/1.1 preserve_case): attached to a header list so that
 * the other leg can write the names as they were received.
 */
export type HeaderCase = Map<string, string>;

export function headerCaseOf(h: HeaderList): HeaderCase | undefined {
  return (h as HeaderList & { headerCase?: HeaderCase }).headerCase;
}

export function setHeaderCase(h: HeaderList, c: HeaderCase): void {
  (h as HeaderList & { headerCase?: HeaderCase }).headerCase = c;
}
