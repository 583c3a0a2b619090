// The gRPC side of ext_authz: envoy.service.auth.v3.Authorization/Check as a unary call over
// HTTP/2 to the service's cluster. The CheckRequest carries the request's attributes (source and
// destination addresses, method, path, host, scheme, protocol, headers, body, id, time) and the
// route's context extensions; the CheckResponse is read back into allow (headers to set, append
// or remove, response headers, dynamic metadata), deny (status, headers, body) or error.
import { fromBinary, toBinary } from '../../../xds/proto/index.js';
import type { ClusterManagerView } from '../../upstream/cluster_manager.js';
import { callCluster, type CallRetryPolicy } from '../async_client.js';
import { getHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { httpStatusCode } from './auth_common.js';

export interface GrpcCheckInput {
  headers: HeaderList;
  body: Buffer | undefined;
  packAsBytes: boolean;
  contextExtensions: Record<string, string>;
  clientAddress: string;
  metadataNamespaces: string[];
  includePeerCertificate: boolean;
}

export type GrpcCheckResult =
  | { kind: 'ok'; headers: [string, string, boolean][]; headersToRemove: string[]; responseHeaders: HeaderList; dynamicMetadata: Record<string, unknown> | undefined }
  | { kind: 'denied'; status: number; headers: [string, string][]; body: string }
  | { kind: 'error'; detail: string };

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

function socketAddress(address: string, port: number): object {
  return { socketAddress: { address: address.startsWith('::ffff:') ? address.slice(7) : address, portValue: port } };
}

function checkRequest(s: HttpStream, input: GrpcCheckInput): object {
  const headers: Record<string, string> = { ':method': s.method, ':path': s.path, ':authority': s.authority, ':scheme': s.scheme };
  const h = input.headers;
  for (let i = 0; i < h.length; i += 2) headers[h[i]!] = headers[h[i]!] === undefined || h[i]!.startsWith(':') ? h[i + 1]! : `${headers[h[i]!]},${h[i + 1]}`;
  const q = s.path.indexOf('?');
  const http: Record<string, unknown> = {
    id: s.requestId,
    method: s.method,
    headers,
    path: s.path,
    host: s.authority,
    scheme: s.scheme,
    query: q < 0 ? '' : s.path.slice(q + 1),
    protocol: s.protocol,
    size: String(s.bodyLength >= 0 ? s.bodyLength : -1),
  };
  if (input.body?.length) {
    if (input.packAsBytes) http.rawBody = input.body.toString('base64');
    else http.body = input.body.toString('utf8');
  }
  const d = s.downstream;
  const source: Record<string, unknown> = { address: socketAddress(input.clientAddress, d.remotePort) };
  if (input.includePeerCertificate && d.peerCertificate) {
    source.certificate = `-----BEGIN CERTIFICATE-----\n${d.peerCertificate.raw.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
  }
  if (d.peerCertificate) source.principal = d.peerCertificate.uriSans[0] ?? d.peerCertificate.subject;
  const attributes: Record<string, unknown> = {
    source,
    destination: { address: socketAddress(d.localAddress, d.localPort), ...(d.serverName ? { principal: '' } : {}) },
    request: { time: new Date(s.startTime).toISOString(), http },
    contextExtensions: input.contextExtensions,
  };
  if (d.tls) attributes.tlsSession = { sni: d.serverName };
  const md: Record<string, unknown> = {};
  for (const ns of input.metadataNamespaces) if (s.dynamicMetadata?.[ns]) md[ns] = s.dynamicMetadata[ns];
  if (Object.keys(md).length) attributes.metadataContext = { filterMetadata: md };
  return { attributes };
}

function frame(msg: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + msg.length);
  out.writeUInt32BE(msg.length, 1);
  Buffer.from(msg.buffer, msg.byteOffset, msg.length).copy(out, 5);
  return out;
}

interface HeaderValueOption { header?: { key?: string; value?: string; rawValue?: string }; append?: boolean | { value?: boolean }; appendAction?: string }

function headerOptions(list: HeaderValueOption[] | undefined, appendByDefault: boolean): [string, string, boolean][] {
  const out: [string, string, boolean][] = [];
  for (const o of list ?? []) {
    const key = o.header?.key?.toLowerCase();
    if (!key) continue;
    const value = o.header?.value ?? (o.header?.rawValue ? Buffer.from(o.header.rawValue, 'base64').toString('latin1') : '');
    const a = o.append;
    let append = a === undefined ? appendByDefault : typeof a === 'boolean' ? a : !!a.value;
    if (o.appendAction === 'OVERWRITE_IF_EXISTS_OR_ADD' || o.appendAction === 'OVERWRITE_IF_EXISTS') append = false;
    else if (o.appendAction === 'APPEND_IF_EXISTS_OR_ADD') append = true;
    out.push([key, value, append]);
  }
  return out;
}

function timeoutHeader(ms: number): string {
  return ms > 0 ? `${Math.ceil(ms)}m` : '';
}

export async function grpcCheck(clusters: ClusterManagerView, svc: { cluster: string; authority: string; timeoutMs: number; retry: CallRetryPolicy | undefined }, s: HttpStream, input: GrpcCheckInput): Promise<GrpcCheckResult> {
  let payload: Uint8Array;
  try {
    payload = toBinary('envoy.service.auth.v3.CheckRequest', checkRequest(s, input));
  } catch (err) {
    return { kind: 'error', detail: `cannot encode the check request: ${(err as Error).message}` };
  }
  const headers: HeaderList = ['content-type', 'application/grpc', 'te', 'trailers'];
  const t = timeoutHeader(svc.timeoutMs);
  if (t) headers.push('grpc-timeout', t);
  const r = await callCluster(clusters, svc.cluster, {
    method: 'POST', path: CHECK_PATH, authority: svc.authority, scheme: 'http', headers, body: frame(payload), timeoutMs: svc.timeoutMs, protocol: 'h2', retry: svc.retry,
  }).result;
  if (!r.ok) return { kind: 'error', detail: `${r.failure}: ${r.detail}` };
  const res = r.response;
  const grpcStatus = getHeader(res.trailers ?? [], 'grpc-status') ?? getHeader(res.headers, 'grpc-status');
  if (res.status !== 200 || grpcStatus !== '0') return { kind: 'error', detail: `HTTP ${res.status}, grpc-status ${grpcStatus ?? 'none'}` };
  const b = res.body;
  if (b.length < 5 || b[0] !== 0) return { kind: 'error', detail: 'malformed gRPC response' };
  const len = b.readUInt32BE(1);
  let msg: { status?: { code?: number }; deniedResponse?: { status?: { code?: string | number }; headers?: HeaderValueOption[]; body?: string };
    okResponse?: { headers?: HeaderValueOption[]; headersToRemove?: string[]; responseHeadersToAdd?: HeaderValueOption[] }; dynamicMetadata?: Record<string, unknown> };
  try {
    msg = fromBinary('envoy.service.auth.v3.CheckResponse', b.subarray(5, 5 + len)) as typeof msg;
  } catch (err) {
    return { kind: 'error', detail: `cannot decode the check response: ${(err as Error).message}` };
  }
  if ((msg.status?.code ?? 0) === 0) {
    const ok = msg.okResponse ?? {};
    return {
      kind: 'ok',
      headers: headerOptions(ok.headers, false),
      headersToRemove: (ok.headersToRemove ?? []).map((h) => h.toLowerCase()),
      responseHeaders: headerOptions(ok.responseHeadersToAdd, false).flatMap(([k, v]) => [k, v]),
      dynamicMetadata: msg.dynamicMetadata,
    };
  }
  const denied = msg.deniedResponse ?? {};
  const code = denied.status?.code;
  const status = httpStatusCode(code) ?? 403;
  return { kind: 'denied', status: status >= 200 ? status : 403, headers: headerOptions(denied.headers, false).map(([k, v]) => [k, v]), body: denied.body ?? '' };
}

