// FilterChainMatch and Envoy's filter chain selection: criteria are applied in Envoy's order
// (destination port, destination IP, server name, transport protocol, application protocols,
// source type, source IP, source port); at each step the most specific matching value wins, and
// chains that do not constrain that criterion remain candidates only when none does.
import { at, field, list, numOr, obj, str, type Json } from '../config/json.js';

export interface CidrRange { prefix: string; len: number; v6: boolean; bytes: Buffer }

export interface FilterChainMatch {
  destinationPort: number;
  prefixRanges: CidrRange[];
  serverNames: string[];
  transportProtocol: string;
  applicationProtocols: string[];
  sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
  sourcePrefixRanges: CidrRange[];
  directSourcePrefixRanges: CidrRange[];
  sourcePorts: number[];
}

export function compileFilterChainMatch(m: Json | undefined, path: string): FilterChainMatch {
  m ??= {};
  const cidrs = (name: string) => list(m!, name, path).map((c: Json, i: number) => cidr(str(c, 'addressPrefix', at(at(path, name), i)), numOr(c, 'prefixLen', at(at(path, name), i), -1)));
  const st = field(m, 'sourceType');
  return {
    destinationPort: numOr(m, 'destinationPort', path, 0),
    prefixRanges: cidrs('prefixRanges'),
    serverNames: list(m, 'serverNames', path).map((s: unknown) => String(s).toLowerCase()),
    transportProtocol: str(m, 'transportProtocol', path),
    applicationProtocols: list(m, 'applicationProtocols', path).map(String),
    sourceType: st === 'SAME_IP_OR_LOOPBACK' || st === 1 ? 'SAME_IP_OR_LOOPBACK' : st === 'EXTERNAL' || st === 2 ? 'EXTERNAL' : 'ANY',
    sourcePrefixRanges: cidrs('sourcePrefixRanges'),
    directSourcePrefixRanges: cidrs('directSourcePrefixRanges'),
    sourcePorts: list(m, 'sourcePorts', path).map(Number),
  };
  void obj;
}

export function cidr(prefix: string, len: number): CidrRange {
  const v6 = prefix.includes(':');
  const bytes = ipBytes(prefix) ?? Buffer.alloc(v6 ? 16 : 4);
  return { prefix, len: len < 0 ? bytes.length * 8 : len, v6, bytes };
}

export function ipBytes(ip: string): Buffer | undefined {
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  if (ip.includes('.')) {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
    return Buffer.from(parts);
  }
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  const groups = [...h, ...Array(fill).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}

export function inCidr(ip: Buffer, r: CidrRange): boolean {
  if (ip.length !== r.bytes.length) return false;
  let bits = r.len;
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (r.bytes[i]! & mask)) return false;
  }
  return true;
}

export interface ChainQuery {
  localPort: number;
  localAddress: string;
  serverName: string;
  transportProtocol: string;
  applicationProtocols: string[];
  remoteAddress: string;
  remotePort: number;
}

/** Selects the filter chain for a connection, or undefined (then the default chain applies). */
export function selectChain<C extends { match: FilterChainMatch }>(chains: C[], q: ChainQuery): C | undefined {
  let c = chains;
  c = step(c, (m) => (m.destinationPort ? (m.destinationPort === q.localPort ? 1 : -1) : 0));
  if (!c.length) return undefined;
  const local = ipBytes(q.localAddress);
  c = step(c, (m) => (m.prefixRanges.length ? bestCidr(m.prefixRanges, local) : 0));
  if (!c.length) return undefined;
  c = step(c, (m) => serverNameScore(m.serverNames, q.serverName));
  if (!c.length) return undefined;
  c = step(c, (m) => (m.transportProtocol ? (m.transportProtocol === q.transportProtocol ? 1 : -1) : 0));
  if (!c.length) return undefined;
  c = step(c, (m) => (m.applicationProtocols.length ? (m.applicationProtocols.some((p) => q.applicationProtocols.includes(p)) ? 1 : -1) : 0));
  if (!c.length) return undefined;
  const remote = ipBytes(q.remoteAddress);
  c = step(c, (m) => (m.directSourcePrefixRanges.length ? bestCidr(m.directSourcePrefixRanges, remote) : 0));
  if (!c.length) return undefined;
  c = step(c, (m) => {
    if (m.sourceType === 'ANY') return 0;
    const local = q.remoteAddress === q.localAddress || q.remoteAddress.startsWith('127.') || q.remoteAddress === '::1' || q.remoteAddress === '::ffff:127.0.0.1';
    return (m.sourceType === 'SAME_IP_OR_LOOPBACK') === local ? 1 : -1;
  });
  if (!c.length) return undefined;
  c = step(c, (m) => (m.sourcePrefixRanges.length ? bestCidr(m.sourcePrefixRanges, remote) : 0));
  if (!c.length) return undefined;
  c = step(c, (m) => (m.sourcePorts.length ? (m.sourcePorts.includes(q.remotePort) ? 1 : -1) : 0));
  return c[0];
}

/** Keeps the chains with the best positive score; if none is positive, those scoring 0. */
function step<C extends { match: FilterChainMatch }>(chains: C[], score: (m: FilterChainMatch) => number): C[] {
  let best = 0;
  for (const ch of chains) best = Math.max(best, score(ch.match));
  return chains.filter((ch) => score(ch.match) === best);
}

function bestCidr(ranges: CidrRange[], ip: Buffer | undefined): number {
  if (!ip) return -1;
  let best = -1;
  for (const r of ranges) if (inCidr(ip, r)) best = Math.max(best, r.len + 1);
  return best;
}

/** Exact names beat wildcards, longer wildcards beat shorter ones. */
function serverNameScore(names: string[], sni: string): number {
  if (!names.length) return 0;
  if (!sni) return -1;
  let best = -1;
  for (const n of names) {
    if (n === sni) return 10000;
    if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && sni.length > n.length - 1) best = Math.max(best, n.length);
    else if (n.startsWith('.') && sni.endsWith(n)) best = Math.max(best, n.length);
  }
  return best;
}
