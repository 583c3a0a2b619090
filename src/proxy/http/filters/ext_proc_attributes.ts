// The request and response attributes ext_proc sends to its processor (request_attributes,
// response_attributes): Envoy's attribute vocabulary (request.path, connection.requested_server_name,
// xds.route_metadata, ...) resolved for one stream into the JSON form of a google.protobuf.Struct,
// keyed by the attribute's name. Each name is resolved to a getter once, at configuration time;
// a name this proxy does not know yields no value, as an attribute Envoy cannot evaluate does.
import type { HttpStream } from '../stream.js';
import type { HeaderList } from '../headers.js';
import { trustedClientAddress } from './auth_common.js';

type Getter = (s: HttpStream) => unknown;

export interface AttributeSet {
  names: string[];
  getters: (Getter | undefined)[];
}

function headerStruct(h: HeaderList | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (let i = 0; i < h.length; i += 2) {
    const k = h[i]!;
    out[k] = out[k] === undefined ? h[i + 1]! : `${out[k]},${h[i + 1]}`;
  }
  return out;
}

function query(s: HttpStream): string {
  const q = s.path.indexOf('?');
  return q < 0 ? '' : s.path.slice(q + 1);
}

function headerOf(h: HeaderList | undefined, name: string): string | undefined {
  if (!h) return undefined;
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
  return undefined;
}

/** Route metadata as a core.v3.Metadata message renders in the JSON mapping ({filterMetadata: {...}}). */
function routeMetadata(s: HttpStream): unknown {
  const md = s.route?.metadata;
  return md ? { filterMetadata: md } : {};
}

const GETTERS: Record<string, Getter> = {
  'request.path': (s) => s.path,
  'request.url_path': (s) => s.pathOnly,
  'request.host': (s) => s.authority,
  'request.scheme': (s) => s.scheme,
  'request.method': (s) => s.method,
  'request.headers': (s) => headerStruct(s.headers),
  'request.referer': (s) => headerOf(s.headers, 'referer'),
  'request.useragent': (s) => headerOf(s.headers, 'user-agent'),
  'request.time': (s) => new Date(s.startTime).toISOString(),
  'request.id': (s) => s.requestId || headerOf(s.headers, 'x-request-id'),
  'request.protocol': (s) => s.protocol,
  'request.query': query,
  'request.size': (s) => (s.bodyLength >= 0 ? s.bodyLength : undefined),
  'request.total_size': (s) => s.bytesReceived,
  'request.duration': (s) => (s.endTime ? `${(s.endTime - s.startTime) / 1000}s` : undefined),
  'response.code': (s) => (s.responseCode || undefined),
  'response.code_details': (s) => s.responseCodeDetails || undefined,
  'response.flags': (s) => s.responseFlags || undefined,
  'response.headers': (s) => headerStruct(s.responseHeaders),
  'response.trailers': (s) => headerStruct(s.responseTrailers),
  'response.size': (s) => s.bytesSent,
  'source.address': (s) => trustedClientAddress(s),
  'source.port': (s) => s.downstream.remotePort,
  'destination.address': (s) => s.downstream.localAddress,
  'destination.port': (s) => s.downstream.localPort,
  'connection.mtls': (s) => s.downstream.peerCertificate !== undefined,
  'connection.requested_server_name': (s) => s.downstream.serverName || undefined,
  'connection.subject_peer_certificate': (s) => s.downstream.peerCertificate?.subject,
  'connection.uri_san_peer_certificate': (s) => s.downstream.peerCertificate?.uriSans[0],
  'connection.dns_san_peer_certificate': (s) => s.downstream.peerCertificate?.dnsSans[0],
  'xds.route_name': (s) => s.routeName || undefined,
  'xds.cluster_name': (s) => s.clusterName || undefined,
  'xds.route_metadata': routeMetadata,
  'xds.virtual_host_name': (s) => s.route?.virtualHost.name,
};

/** Compiles attribute names; undefined when there are none (nothing to send). */
export function compileAttributes(names: string[], _path: string): AttributeSet | undefined {
  if (!names.length) return undefined;
  return { names, getters: names.map((n) => GETTERS[n]) };
}

/** The attributes' values for this stream (those that have one). */
export function evaluateAttributes(set: AttributeSet, s: HttpStream): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < set.names.length; i++) {
    const v = set.getters[i]?.(s);
    if (v !== undefined) out[set.names[i]!] = v;
  }
  return out;
}
