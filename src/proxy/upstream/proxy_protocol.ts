// The PROXY protocol header (v1 text, v2 binary) an upstream connection starts with when its
// cluster's transport socket is envoy.transport_sockets.upstream_proxy_protocol: it tells the
// backend the original client and destination addresses.
import net from 'node:net';

export interface Addresses { srcAddress: string; srcPort: number; dstAddress: string; dstPort: number }

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function unmap(a: string): string {
  return a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a;
}

export function encodeProxyHeader(version: 1 | 2, a: Addresses): Buffer {
  const src = unmap(a.srcAddress);
  const dst = unmap(a.dstAddress);
  const v4 = net.isIPv4(src) && net.isIPv4(dst);
  const v6 = net.isIPv6(src) && net.isIPv6(dst);
  if (version === 1) {
    if (!v4 && !v6) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    return Buffer.from(`PROXY ${v4 ? 'TCP4' : 'TCP6'} ${src} ${dst} ${a.srcPort} ${a.dstPort}\r\n`, 'latin1');
  }
  if (!v4 && !v6) {
    // LOCAL command, no addresses.
    return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  }
  const addrLen = v4 ? 12 : 36;
  const b = Buffer.alloc(16 + addrLen);
  V2_SIGNATURE.copy(b, 0);
  b[12] = 0x21; // version 2, PROXY command
  b[13] = v4 ? 0x11 : 0x21; // TCP over IPv4 / IPv6
  b.writeUInt16BE(addrLen, 14);
  const put = (ip: string, at: number) => {
    if (v4) ip.split('.').forEach((o, i) => { b[at + i] = Number(o); });
    else expand6(ip).forEach((g, i) => b.writeUInt16BE(g, at + i * 2));
  };
  put(src, 16);
  put(dst, v4 ? 20 : 32);
  b.writeUInt16BE(a.srcPort, v4 ? 24 : 48);
  b.writeUInt16BE(a.dstPort, v4 ? 26 : 50);
  return b;
}

function expand6(ip: string): number[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g || '0', 16));
}
