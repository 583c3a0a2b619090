// Header maps as scripts and plugins see them (Lua handles, Proxy-Wasm header maps): Envoy's
// maps carry the pseudo-headers (:authority, :path, :method, :scheme on requests, :status on
// responses); this proxy keeps them on the stream and the rest in the header list.
import type { HttpStream } from '../stream.js';

export const REQUEST_PSEUDO = [':authority', ':path', ':method', ':scheme'] as const;

/** A pseudo-header of the request (response: only :status), undefined when there is none. */
export function getPseudo(s: HttpStream, response: boolean, name: string): string | undefined {
  if (response) return name === ':status' ? String(s.responseCode) : undefined;
  switch (name) {
    case ':authority': return s.authority;
    case ':path': return s.path;
    case ':method': return s.method;
    case ':scheme': return s.scheme;
  }
  return undefined;
}

/** Sets a pseudo-header; returns why it cannot be set, or undefined when done. */
export function setPseudo(s: HttpStream, response: boolean, name: string, value: string): string | undefined {
  if (response) {
    const status = Number(value);
    if (name !== ':status' || !Number.isInteger(status) || status < 100 || status > 999) return `invalid response pseudo-header ${name}: ${value}`;
    s.responseCode = status;
    return undefined;
  }
  switch (name) {
    case ':authority': s.authority = value; return undefined;
    case ':method': s.method = value; return undefined;
    case ':scheme': s.scheme = value; return undefined;
    case ':path': {
      s.path = value;
      const q = value.indexOf('?');
      s.pathOnly = q < 0 ? value : value.slice(0, q);
      s.queryParams = undefined;
      return undefined;
    }
  }
  return `invalid request pseudo-header ${name}`;
}

/** Pseudo-headers first, then the list in order (repeated names repeated): [name, value, ...]. */
export function withPseudo(s: HttpStream, response: boolean, list: readonly string[]): string[] {
  const out: string[] = [];
  if (response) out.push(':status', String(s.responseCode));
  else for (const p of REQUEST_PSEUDO) out.push(p, getPseudo(s, false, p)!);
  for (let i = 0; i < list.length; i++) out.push(list[i]!);
  return out;
}
