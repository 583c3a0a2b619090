// proxy_get_property: Envoy's attributes, addressed by path segments (request.path, source.address,
// ...). Strings are their bytes, integers 8-byte little-endian, booleans one byte, header maps the
// ABI's serialized pairs. An attribute this proxy does not know is NotFound.
import { getHeader } from '../../headers.js';
import { withPseudo } from '../stream_headers.js';
import { serializePairs } from './abi.js';
import type { Context, WasmPlugin } from './plugin.js';

const str = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'utf8'));
function int(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(Math.trunc(n)));
  return b;
}
const bool = (v: boolean) => Buffer.from([v ? 1 : 0]);
const hostPort = (addr: string, port: number) => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

export function propertyOf(p: WasmPlugin, ctx: Context | undefined, path: string[]): Buffer | undefined {
  const [a, b] = path;
  switch (path.join('.')) {
    case 'plugin_name': return str(p.config.name);
    case 'plugin_root_id': return str(p.config.rootId);
    case 'plugin_vm_id': return str(p.config.vmId);
  }
  if (ctx?.kind !== 'stream') return undefined;
  const s = ctx.s;
  const d = s.downstream;
  if (a === 'request') {
    const q = s.path.indexOf('?');
    switch (b) {
      case 'path': return str(s.path);
      case 'url_path': return str(q < 0 ? s.path : s.path.slice(0, q));
      case 'query': return str(q < 0 ? '' : s.path.slice(q + 1));
      case 'host': return str(s.authority);
      case 'scheme': return str(s.scheme);
      case 'method': return str(s.method);
      case 'id': return str(s.requestId || getHeader(s.headers, 'x-request-id'));
      case 'protocol': return str(s.protocol);
      case 'referer': return str(getHeader(s.headers, 'referer'));
      case 'useragent': return str(getHeader(s.headers, 'user-agent'));
      case 'time': return int(s.startTime * 1_000_000);
      case 'size': return int(s.bodyLength > 0 ? s.bodyLength : 0);
      case 'headers':
        if (path.length === 3) return str(getHeader(s.headers, path[2]!.toLowerCase()));
        return serializePairs(withPseudo(s, false, s.headers));
    }
    return undefined;
  }
  if (a === 'response') {
    if (!s.responseHeaders) return undefined;
    switch (b) {
      case 'code': return int(s.responseCode);
      case 'code_details': return str(s.responseCodeDetails);
      case 'flags': return int(0);
      case 'headers':
        if (path.length === 3) return str(getHeader(s.responseHeaders, path[2]!.toLowerCase()));
        return serializePairs(withPseudo(s, true, s.responseHeaders));
    }
    return undefined;
  }
  switch (path.join('.')) {
    case 'source.address': return str(hostPort(d.remoteAddress, d.remotePort));
    case 'source.port': return int(d.remotePort);
    case 'destination.address': return str(hostPort(d.localAddress, d.localPort));
    case 'destination.port': return int(d.localPort);
    case 'connection.mtls': return bool(d.peerCertificate !== undefined);
    case 'connection.requested_server_name': return str(d.serverName ?? '');
    case 'connection.subject_peer_certificate': return d.peerCertificate ? str(d.peerCertificate.subject) : undefined;
    case 'route_name': case 'xds.route_name': return str(s.routeName);
    case 'cluster_name': case 'xds.cluster_name': return s.clusterName ? str(s.clusterName) : undefined;
    case 'upstream.address': return s.upstreamHost ? str(s.upstreamHost) : undefined;
  }
  return undefined;
}
