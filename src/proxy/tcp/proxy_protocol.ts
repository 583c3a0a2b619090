// The proxy_protocol listener filter: reads a PROXY protocol header (HAProxy's v1 text or v2
// binary form) from the start of a connection and hands the addresses it carries to the rest of
// the listener (filter chain match, XFF, access logs) as the connection's own. A LOCAL (health
// check) header keeps the real addresses. Without a header the connection is closed, unless the
// listener allows connections without one; the bytes after the header are left for whoever reads
// the socket next. (Headers sent upstream are built by upstream/proxy_protocol.ts.)
import type net from 'node:net';

export interface ProxiedAddresses {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
}

export type ProxyHeader =
  | { kind: 'need-more' }
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string }
  /** `addresses` is undefined for LOCAL / UNKNOWN / unsupported families: keep the real ones. */
  | { kind: 'header'; length: number; version: 1 | 2; addresses: ProxiedAddresses | undefined };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** A v1 header is at most 107 bytes, CRLF included. */
const V1_MAX = 107;
/** Envoy caps v2 headers (with TLVs) at 64 KiB + 16. */
const V2_MAX = 65536 + 16;

/** Parses the start of a connection. Never throws. */
export function parseProxyHeader(b: Buffer): ProxyHeader {
  const n = Math.min(b.length, V2_SIGNATURE.length);
  if (n > 0 && b.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n))) {
    if (b.length < 16) return { kind: 'need-more' };
    return parseV2(b);
  }
  const m = Math.min(b.length, V1_PREFIX.length);
  if (m > 0 && b.subarray(0, m).equals(V1_PREFIX.subarray(0, m))) {
    if (b.length < V1_PREFIX.length) return { kind: 'need-more' };
    return parseV1(b);
  }
  return { kind: 'none' };
}

function parseV1(b: Buffer): ProxyHeader {
  const end = b.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return b.length >= V1_MAX ? { kind: 'invalid', reason: 'v1 header too long' } : { kind: 'need-more' };
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: 'v1 header too long' };
  const parts = b.toString('latin1', 0, end).split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { kind: 'header', length, version: 1, addresses: undefined };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { kind: 'invalid', reason: 'malformed v1 header' };
  const [, family, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const v6 = family === 'TCP6';
  if (!validIp(src, v6) || !validIp(dst, v6)) return { kind: 'invalid', reason: 'bad address in v1 header' };
  const sp = port(sport);
  const dp = port(dport);
  if (sp < 0 || dp < 0) return { kind: 'invalid', reason: 'bad port in v1 header' };
  return { kind: 'header', length, version: 1, addresses: { remoteAddress: src, remotePort: sp, localAddress: dst, localPort: dp } };
}

function parseV2(b: Buffer): ProxyHeader {
  const verCmd = b[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: 'unsupported PROXY protocol version' };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { kind: 'invalid', reason: 'unknown v2 command' };
  const fam = b[13]!;
  const len = b.readUInt16BE(14);
  const length = 16 + len;
  if (length > V2_MAX) return { kind: 'invalid', reason: 'v2 header too long' };
  if (b.length < length) return { kind: 'need-more' };
  // LOCAL: the connection was made by the proxy itself (e.g. a health check).
  if (cmd === 0) return { kind: 'header', length, version: 2, addresses: undefined };
  const family = fam >> 4;
  const transport = fam & 0x0f;
  if (family === 1) {
    if (len < 12) return { kind: 'invalid', reason: 'short v2 IPv4 address block' };
    return {
      kind: 'header', length, version: 2,
      addresses: transport === 1 || transport === 2 ? {
        remoteAddress: ipv4(b, 16), localAddress: ipv4(b, 20), remotePort: b.readUInt16BE(24), localPort: b.readUInt16BE(26),
      } : undefined,
    };
  }
  if (family === 2) {
    if (len < 36) return { kind: 'invalid', reason: 'short v2 IPv6 address block' };
    return {
      kind: 'header', length, version: 2,
      addresses: transport === 1 || transport === 2 ? {
        remoteAddress: ipv6(b, 16), localAddress: ipv6(b, 32), remotePort: b.readUInt16BE(48), localPort: b.readUInt16BE(50),
      } : undefined,
    };
  }
  // AF_UNSPEC or AF_UNIX: the addresses are not usable for an IP connection.
  return { kind: 'header', length, version: 2, addresses: undefined };
}

function port(s: string): number {
  if (!/^\d{1,5}$/.test(s) || (s.length > 1 && s[0] === '0')) return -1;
  const p = Number(s);
  return p <= 65535 ? p : -1;
}

function validIp(s: string, v6: boolean): boolean {
  if (!v6) return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((o) => Number(o) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(s) && s.includes(':');
}

function ipv4(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function ipv6(b: Buffer, o: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(o + i * 2).toString(16));
  // Canonical form: the longest run of zero groups (two or more) becomes '::'.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * Reads the header from a freshly accepted socket. Resolves with the carried addresses (or
 * undefined: no header and allowed without, or LOCAL); rejects when the connection must be
 * closed. The socket is left paused with the remaining bytes unshifted; it is resumed on the
 * next turn once the next stage put a 'data' listener on it (a TLS socket that took the
 * connection over reads the buffered bytes itself and must not be competed with).
 */
export function readProxyProtocol(socket: net.Socket, allowWithout: boolean, timeoutMs: number): Promise<ProxiedAddresses | undefined> {
  return new Promise((resolve, reject) => {
    let buf: Buffer | undefined;
    const timer = setTimeout(() => { cleanup(); reject(new Error('PROXY protocol header timeout')); }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
    };
    const handOver = (rest: Buffer, addrs: ProxiedAddresses | undefined) => {
      cleanup();
      socket.pause();
      if (rest.length) socket.unshift(rest);
      resolve(addrs);
      setImmediate(() => { if (!socket.destroyed && socket.listenerCount('data') > 0 && socket.isPaused()) socket.resume(); });
    };
    const onData = (d: Buffer) => {
      buf = buf ? Buffer.concat([buf, d]) : d;
      const r = parseProxyHeader(buf);
      switch (r.kind) {
        case 'need-more': return;
        case 'none':
          if (allowWithout) handOver(buf, undefined);
          else { cleanup(); reject(new Error('no PROXY protocol header')); }
          return;
        case 'invalid': cleanup(); reject(new Error(r.reason)); return;
        case 'header': handOver(buf.subarray(r.length), r.addresses); return;
      }
    };
    const onEnd = () => { cleanup(); reject(new Error('connection closed before the PROXY protocol header')); };
    socket.on('data', onData);
    socket.on('end', onEnd);
  });
}
