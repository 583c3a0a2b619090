// Envoy's substitution format strings (%COMMAND(arg):len%), used by access logs: compiled once
// into a list of literal parts and value functions over a StreamInfo.
import { hostname as osHostname } from 'node:os';
import { ConfigError } from '../config/errors.js';
import { getJoined, type HeaderList } from './headers.js';
import type { StreamInfo } from './stream_info.js';

/** undefined stands for "not available" (Envoy prints "-" in text and null in JSON). */
export type Value = string | number | undefined;
export type ValueFn = (i: StreamInfo) => Value;

const host = osHostname();

function hostPort(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function headerValue(h: HeaderList | undefined, i: StreamInfo, name: string): string | undefined {
  if (name === ':authority' || name === 'host') return i.authority || undefined;
  if (name === ':method') return i.method;
  if (name === ':path') return i.originalPath;
  if (name === ':status') return i.responseCode ? String(i.responseCode) : undefined;
  if (name === ':scheme') return i.downstream.tls ? 'https' : 'http';
  return h ? getJoined(h, name) : undefined;
}

/** One %COMMAND% as a value function; throws ConfigError for unknown commands. */
export function compileCommand(cmd: string, path: string): ValueFn {
  const m = /^([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?$/.exec(cmd);
  if (!m) throw new ConfigError(path, `invalid format command %${cmd}%`);
  const [, name, arg = '', lenStr] = m;
  const len = lenStr ? Number(lenStr) : 0;
  const trunc = (f: ValueFn): ValueFn => (len ? (i) => { const v = f(i); return typeof v === 'string' ? v.slice(0, len) : v; } : f);
  const headerCmd = (pick: (i: StreamInfo) => HeaderList | undefined): ValueFn => {
    const [primary, alt] = arg.split('?').map((s) => s.trim().toLowerCase());
    if (!primary) throw new ConfigError(path, `%${name}()% needs a header name`);
    return trunc((i) => headerValue(pick(i), i, primary) ?? (alt ? headerValue(pick(i), i, alt) : undefined));
  };
  switch (name) {
    case 'REQ': return headerCmd((i) => i.requestHeaders);
    case 'RESP': return headerCmd((i) => i.responseHeaders);
    case 'TRAILER': return headerCmd((i) => i.responseTrailers);
    case 'START_TIME': return (i) => new Date(i.startTime).toISOString();
    case 'PROTOCOL': return (i) => i.protocol;
    case 'RESPONSE_CODE': return (i) => i.responseCode;
    case 'RESPONSE_FLAGS': return (i) => i.responseFlags || '-';
    case 'RESPONSE_CODE_DETAILS': return (i) => i.responseCodeDetails || undefined;
    case 'CONNECTION_TERMINATION_DETAILS': return () => undefined;
    case 'UPSTREAM_TRANSPORT_FAILURE_REASON': return () => undefined;
    case 'BYTES_RECEIVED': return (i) => i.bytesReceived;
    case 'BYTES_SENT': return (i) => i.bytesSent;
    case 'DURATION': return (i) => Math.max(0, ((i as { endTime?: number }).endTime || Date.now()) - i.startTime);
    case 'UPSTREAM_HOST': return (i) => i.upstreamHost || undefined;
    case 'UPSTREAM_CLUSTER': return (i) => i.clusterName || undefined;
    case 'UPSTREAM_LOCAL_ADDRESS': return () => undefined;
    case 'DOWNSTREAM_LOCAL_ADDRESS': return (i) => hostPort(i.downstream.localAddress, i.downstream.localPort);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT': return (i) => i.downstream.localAddress;
    case 'DOWNSTREAM_LOCAL_PORT': return (i) => i.downstream.localPort;
    case 'DOWNSTREAM_REMOTE_ADDRESS': case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return (i) => hostPort(i.downstream.remoteAddress, i.downstream.remotePort);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT': case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return (i) => i.downstream.remoteAddress;
    case 'DOWNSTREAM_REMOTE_PORT': return (i) => i.downstream.remotePort;
    case 'REQUESTED_SERVER_NAME': return (i) => i.downstream.serverName || undefined;
    case 'ROUTE_NAME': return (i) => i.routeName || undefined;
    case 'HOSTNAME': return () => host;
    case 'REQUEST_DURATION': case 'RESPONSE_DURATION': case 'RESPONSE_TX_DURATION': return () => undefined;
    case 'UPSTREAM_REQUEST_ATTEMPT_COUNT': return () => 1;
    case 'STREAM_ID': case 'REQUEST_ID': return (i) => i.requestId || undefined;
    default: throw new ConfigError(path, `unsupported format command %${cmd}%`);
  }
}

/** A text format: literal and command parts; `%%` is a literal percent sign. */
export function compileText(format: string, path: string): (i: StreamInfo) => string {
  const parts: (string | ValueFn)[] = [];
  let lit = '';
  for (let p = 0; p < format.length; p++) {
    const c = format[p]!;
    if (c !== '%') { lit += c; continue; }
    if (format[p + 1] === '%') { lit += '%'; p++; continue; }
    const end = format.indexOf('%', p + 1);
    if (end < 0) throw new ConfigError(path, `unterminated %-command in ${JSON.stringify(format)}`);
    if (lit) { parts.push(lit); lit = ''; }
    parts.push(compileCommand(format.slice(p + 1, end), path));
    p = end;
  }
  if (lit) parts.push(lit);
  return (i) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') out += part;
      else { const v = part(i); out += v === undefined ? '-' : String(v); }
    }
    return out;
  };
}

/** A JSON format: each value is a format string; a lone command keeps its type (number, null). */
export function compileJson(format: Record<string, unknown>, path: string): (i: StreamInfo) => Record<string, unknown> {
  const entries = Object.entries(format).map(([k, v]) => {
    if (typeof v !== 'string') throw new ConfigError(`${path}.${k}`, 'nested JSON formats are not supported');
    const lone = /^%([^%]+)%$/.exec(v);
    if (lone) { const f = compileCommand(lone[1]!, `${path}.${k}`); return [k, (i: StreamInfo) => f(i) ?? null] as const; }
    const t = compileText(v, `${path}.${k}`);
    return [k, t] as const;
  });
  return (i) => {
    const o: Record<string, unknown> = {};
    for (const [k, f] of entries) o[k] = f(i);
    return o;
  };
}
