// Route, virtual host and route configuration header mutations (HeaderValueOption lists plus
// *_headers_to_remove), compiled once. Values may use Envoy's substitution commands
// (%DOWNSTREAM_REMOTE_ADDRESS%, %REQ(x)%, ...); plain literals cost nothing extra.
import { ConfigError } from '../config/errors.js';
import { at, bool, enumOf, field, obj, str, type Json } from '../config/json.js';
import { addHeader, getJoined, hasHeader, removeHeader, setHeader, validHeaderName, validHeaderValue, type HeaderList } from './headers.js';
import type { StreamInfo } from './stream_info.js';

type AppendAction = 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
const APPEND_ACTIONS = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'] as const;

export type ValueFormatter = (info: StreamInfo) => string;

interface HeaderAdd {
  name: string;
  value: string | ValueFormatter;
  action: AppendAction;
  keepEmptyValue: boolean;
}

export class HeaderMutation {
  constructor(private readonly adds: HeaderAdd[], private readonly removes: string[]) {}

  get empty(): boolean {
    return this.adds.length === 0 && this.removes.length === 0;
  }

  apply(h: HeaderList, info: StreamInfo | undefined): void {
    for (const r of this.removes) removeHeader(h, r);
    for (const a of this.adds) {
      const value = typeof a.value === 'string' ? a.value : info ? a.value(info) : '';
      if (value === '' && !a.keepEmptyValue) continue;
      switch (a.action) {
        case 'APPEND_IF_EXISTS_OR_ADD': addHeader(h, a.name, value); break;
        case 'ADD_IF_ABSENT': if (!hasHeader(h, a.name)) addHeader(h, a.name, value); break;
        case 'OVERWRITE_IF_EXISTS_OR_ADD': setHeader(h, a.name, value); break;
        case 'OVERWRITE_IF_EXISTS': if (hasHeader(h, a.name)) setHeader(h, a.name, value); break;
      }
    }
  }
}

/** `forRequest`: pseudo-headers and host may not be touched, as Envoy enforces. */
export function compileHeaderMutation(parent: Json, addField: string, removeField: string, path: string): HeaderMutation | undefined {
  const addsJson = field(parent, addField);
  const removesJson = field(parent, removeField);
  if (!addsJson?.length && !removesJson?.length) return undefined;
  const adds: HeaderAdd[] = [];
  (addsJson ?? []).forEach((o: Json, i: number) => {
    const p = at(at(path, addField), i);
    const header = obj(o, 'header', p);
    if (!header) throw new ConfigError(at(p, 'header'), 'required');
    const hp = at(p, 'header');
    const name = str(header, 'key', hp).toLowerCase();
    checkMutable(name, at(hp, 'key'));
    let raw = field(header, 'value');
    if (raw === undefined && field(header, 'rawValue') !== undefined) raw = Buffer.from(field(header, 'rawValue'), 'base64').toString('latin1');
    const value = typeof raw === 'string' ? raw : '';
    if (!validHeaderValue(value)) throw new ConfigError(at(hp, 'value'), 'header values may not contain CR, LF or NUL');
    const appendBool = field(o, 'append');
    let action: AppendAction;
    if (appendBool !== undefined && appendBool !== null) {
      if (field(o, 'appendAction') !== undefined) throw new ConfigError(at(p, 'append'), 'append and appendAction are mutually exclusive');
      action = (typeof appendBool === 'object' ? appendBool.value : appendBool) ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD';
    } else {
      action = enumOf(o, 'appendAction', p, APPEND_ACTIONS, 'APPEND_IF_EXISTS_OR_ADD');
    }
    adds.push({ name, value: compileFormat(value, at(hp, 'value')), action, keepEmptyValue: bool(o, 'keepEmptyValue', p) });
  });
  const removes: string[] = [];
  (removesJson ?? []).forEach((n: unknown, i: number) => {
    const p = at(at(path, removeField), i);
    if (typeof n !== 'string') throw new ConfigError(p, 'expected a header name');
    const name = n.toLowerCase();
    checkMutable(name, p);
    removes.push(name);
  });
  return new HeaderMutation(adds, removes);
}

function checkMutable(name: string, path: string): void {
  if (name.startsWith(':') || name === 'host') throw new ConfigError(path, `':'-prefixed or host headers may not be modified (${name})`);
  if (!validHeaderName(name)) throw new ConfigError(path, `invalid header name ${JSON.stringify(name)}`);
}

/**
 * Envoy's header value substitution: `%COMMAND%` or `%COMMAND(arg)%`, `%%` for a literal `%`.
 * Unknown commands are rejected, as Envoy rejects them.
 */
export function compileFormat(value: string, path: string): string | ValueFormatter {
  if (!value.includes('%')) return value;
  const parts: (string | ValueFormatter)[] = [];
  let lit = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c !== '%') { lit += c; i++; continue; }
    if (value[i + 1] === '%') { lit += '%'; i += 2; continue; }
    const end = value.indexOf('%', i + 1);
    if (end < 0) throw new ConfigError(path, `unterminated %-command in ${JSON.stringify(value)}`);
    const cmd = value.slice(i + 1, end);
    if (lit) { parts.push(lit); lit = ''; }
    parts.push(commandFormatter(cmd, path));
    i = end + 1;
  }
  if (lit) parts.push(lit);
  return (info) => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : p(info);
    return out;
  };
}

function commandFormatter(cmd: string, path: string): ValueFormatter {
  const m = /^([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?$/.exec(cmd);
  if (!m) throw new ConfigError(path, `invalid %-command %${cmd}%`);
  const [, name, arg] = m;
  switch (name) {
    case 'DOWNSTREAM_REMOTE_ADDRESS': return (i) => hostPort(i.downstream.remoteAddress, i.downstream.remotePort);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT': return (i) => i.downstream.remoteAddress;
    case 'DOWNSTREAM_REMOTE_PORT': return (i) => String(i.downstream.remotePort);
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS': return (i) => hostPort(i.downstream.remoteAddress, i.downstream.remotePort);
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT': return (i) => i.downstream.remoteAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS': return (i) => hostPort(i.downstream.localAddress, i.downstream.localPort);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT': return (i) => i.downstream.localAddress;
    case 'DOWNSTREAM_LOCAL_PORT': return (i) => String(i.downstream.localPort);
    case 'REQUESTED_SERVER_NAME': return (i) => i.downstream.serverName;
    case 'PROTOCOL': return (i) => i.protocol;
    case 'HOSTNAME': return () => hostname;
    case 'START_TIME': return (i) => new Date(i.startTime).toISOString();
    case 'UPSTREAM_REMOTE_ADDRESS': return (i) => i.upstreamHost;
    case 'UPSTREAM_CLUSTER': return (i) => i.clusterName;
    case 'ROUTE_NAME': return (i) => i.routeName;
    case 'REQ': {
      if (!arg) throw new ConfigError(path, '%REQ()% needs a header name');
      const [primary, alt] = arg.split('?').map((s) => s.trim().toLowerCase());
      return (i) => headerOf(i, primary!) ?? (alt ? headerOf(i, alt) : undefined) ?? '';
    }
    default:
      throw new ConfigError(path, `unsupported %-command %${cmd}%`);
  }
}

function headerOf(i: StreamInfo, name: string): string | undefined {
  if (name === ':authority' || name === 'host') return i.authority;
  if (name === ':path') return i.originalPath;
  if (name === ':method') return i.method;
  return getJoined(i.requestHeaders, name);
}

function hostPort(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

import { hostname as osHostname } from 'node:os';
const hostname = osHostname();
