// gRPC calls the proxy makes for its filters (Envoy's "Envoy gRPC" client): to a cluster by name
// (envoy.config.core.v3.GrpcService.envoy_grpc), over HTTP/2 through the cluster's pools, with
// messages in the proto3 JSON mapping encoded by Envoy's own protos (xds/proto). Unary calls
// (the rate limit service) are buffered exchanges through async_client.ts; streams (external
// processing) are bidirectional: messages go out as they are written and come back as they
// arrive, the call ends with grpc-status.
import { ConfigError } from '../config/errors.js';
import { at, durationMs, field, list, numOr, obj, str, type Json } from '../config/json.js';
import { fromBinary, toBinary } from '../../xds/proto/index.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';
import type { ResetReason, UpstreamCallbacks, UpstreamStream } from '../upstream/types.js';
import type { Host } from '../upstream/host.js';
import { callCluster, compileCallRetry, type CallRetryPolicy } from './async_client.js';
import { getHeader, type HeaderList } from './headers.js';

/** A compiled envoy.config.core.v3.GrpcService (Envoy gRPC only). */
export interface GrpcService {
  cluster: string;
  authority: string;
  /** 0: no deadline. */
  timeoutMs: number;
  initialMetadata: HeaderList;
  retry: CallRetryPolicy | undefined;
  maxReceiveBytes: number;
}

export function compileGrpcService(c: Json | undefined, path: string): GrpcService {
  if (!c) throw new ConfigError(path, 'required');
  if (field(c, 'googleGrpc') !== undefined) throw new ConfigError(at(path, 'googleGrpc'), 'Google gRPC clients are not supported by this proxy; use envoy_grpc');
  const eg = obj(c, 'envoyGrpc', path);
  if (!eg) throw new ConfigError(at(path, 'envoyGrpc'), 'required');
  const ep = at(path, 'envoyGrpc');
  const cluster = str(eg, 'clusterName', ep);
  if (!cluster) throw new ConfigError(at(ep, 'clusterName'), 'required');
  const initialMetadata: HeaderList = [];
  list(c, 'initialMetadata', path).forEach((h: Json, i: number) => {
    const hp = at(at(path, 'initialMetadata'), i);
    const key = str(h, 'key', hp).toLowerCase();
    if (!key) throw new ConfigError(at(hp, 'key'), 'required');
    initialMetadata.push(key, str(h, 'value', hp));
  });
  return {
    cluster,
    authority: str(eg, 'authority', ep) || cluster,
    timeoutMs: durationMs(c, 'timeout', path) ?? 0,
    initialMetadata,
    retry: compileCallRetry(obj(eg, 'retryPolicy', ep) ?? obj(c, 'retryPolicy', path), obj(eg, 'retryPolicy', ep) ? at(ep, 'retryPolicy') : at(path, 'retryPolicy')),
    maxReceiveBytes: numOr(eg, 'maxReceiveMessageLength', ep, 0),
  };
}

/** A length-prefixed gRPC message (uncompressed). */
export function grpcFrame(msg: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + msg.length);
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
}

/** Splits a byte stream into gRPC messages (frames may span chunks). */
export class GrpcFrameReader {
  private pending: Buffer | undefined;

  /** The complete messages in what arrived so far; throws on a compressed or oversized frame. */
  push(chunk: Buffer, maxBytes = 0): Buffer[] {
    let b = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (b.length >= 5) {
      if (b[0] !== 0) throw new Error('compressed gRPC messages are not supported');
      const len = b.readUInt32BE(1);
      if (maxBytes > 0 && len > maxBytes) throw new Error(`gRPC message of ${len} bytes exceeds the limit of ${maxBytes}`);
      if (b.length < 5 + len) break;
      out.push(b.subarray(5, 5 + len));
      b = b.subarray(5 + len);
    }
    this.pending = b.length ? b : undefined;
    return out;
  }

  get empty(): boolean { return this.pending === undefined; }
}

function requestHeaders(svc: GrpcService, timeoutMs: number): HeaderList {
  const h: HeaderList = ['content-type', 'application/grpc', 'te', 'trailers'];
  if (timeoutMs > 0) h.push('grpc-timeout', `${Math.ceil(timeoutMs)}m`);
  for (let i = 0; i < svc.initialMetadata.length; i++) h.push(svc.initialMetadata[i]!);
  return h;
}

export type UnaryResult = { ok: true; message: Record<string, unknown> } | { ok: false; detail: string; grpcStatus?: number };

/**
 * One request, one response: `method` is /package.Service/Method, the message types are full
 * proto names. Resolves with the decoded response or what went wrong (never rejects).
 */
export async function grpcUnary(clusters: ClusterManagerView, svc: GrpcService, method: string, requestType: string, responseType: string,
  request: unknown, timeoutMs = svc.timeoutMs): Promise<UnaryResult> {
  let payload: Uint8Array;
  try { payload = toBinary(requestType, request); } catch (err) { return { ok: false, detail: `cannot encode ${requestType}: ${(err as Error).message}` }; }
  const r = await callCluster(clusters, svc.cluster, {
    method: 'POST', path: method, authority: svc.authority, scheme: 'http', headers: requestHeaders(svc, timeoutMs), body: grpcFrame(payload), timeoutMs, protocol: 'h2', retry: svc.retry,
  }).result;
  if (!r.ok) return { ok: false, detail: `${r.failure}: ${r.detail}` };
  const res = r.response;
  const status = getHeader(res.trailers ?? [], 'grpc-status') ?? getHeader(res.headers, 'grpc-status');
  if (res.status !== 200) return { ok: false, detail: `HTTP status ${res.status}` };
  if (status !== '0') return { ok: false, detail: `grpc-status ${status ?? 'missing'}${getHeader(res.trailers ?? res.headers, 'grpc-message') ? `: ${decodeURIComponent(getHeader(res.trailers ?? res.headers, 'grpc-message')!)}` : ''}`, grpcStatus: status === undefined ? undefined : Number(status) };
  try {
    const msgs = new GrpcFrameReader().push(res.body, svc.maxReceiveBytes);
    if (msgs.length !== 1) return { ok: false, detail: `expected one response message, got ${msgs.length}` };
    return { ok: true, message: fromBinary(responseType, msgs[0]!) as Record<string, unknown> };
  } catch (err) {
    return { ok: false, detail: `cannot decode ${responseType}: ${(err as Error).message}` };
  }
}

/** What a stream's owner hears. */
export interface GrpcStreamHandler {
  onMessage(message: Record<string, unknown>): void;
  /** The call is over: grpc-status (0 = OK) or a transport failure (status undefined). */
  onClose(grpcStatus: number | undefined, detail: string): void;
}

/** A bidirectional gRPC stream on one host of a cluster. */
export class GrpcStream implements UpstreamCallbacks {
  private upstream: UpstreamStream | undefined;
  private host: Host | undefined;
  private readonly reader = new GrpcFrameReader();
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly svc: GrpcService, private readonly responseType: string, private readonly requestType: string, private readonly handler: GrpcStreamHandler) {}

  /** Opens the stream; failures (no cluster, no host) arrive as onClose on the next tick. */
  static open(clusters: ClusterManagerView, svc: GrpcService, method: string, requestType: string, responseType: string, handler: GrpcStreamHandler): GrpcStream {
    const s = new GrpcStream(svc, responseType, requestType, handler);
    const cluster = clusters.get(svc.cluster);
    if (!cluster) { process.nextTick(() => s.fail(`cluster ${svc.cluster} is not configured`)); return s; }
    const host = cluster.chooseHost({ hash: undefined, avoid: undefined, maxAttempts: 1 });
    if (!host) { process.nextTick(() => s.fail(`no healthy host in cluster ${svc.cluster}`)); return s; }
    s.host = host;
    host.activeRequests++;
    host.rqTotal++;
    cluster.stats.upstream_rq_total++;
    s.upstream = cluster.pool(host, 'h2').newStream({
      method: 'POST', path: method, authority: svc.authority, scheme: 'http', headers: requestHeaders(svc, svc.timeoutMs), bodyLength: -1, upgrade: undefined,
    }, false, s);
    if (svc.timeoutMs > 0) s.timer = setTimeout(() => { s.upstream?.reset(); s.fail(`no answer within ${svc.timeoutMs} ms`); }, svc.timeoutMs);
    return s;
  }

  /** Sends one message; false when it could not be encoded (the stream is then closed). */
  send(message: unknown): boolean {
    if (this.closed || !this.upstream) return false;
    let bytes: Uint8Array;
    try { bytes = toBinary(this.requestType, message); } catch (err) { this.cancel(); this.handler.onClose(undefined, `cannot encode ${this.requestType}: ${(err as Error).message}`); return false; }
    this.upstream.sendData(grpcFrame(bytes), false);
    return true;
  }

  /** Half-closes: no more messages from this side. */
  end(): void {
    if (!this.closed) this.upstream?.sendData(Buffer.alloc(0), true);
  }

  /** Abandons the call (the stream is reset); the handler hears nothing more. */
  cancel(): void {
    if (this.closed) return;
    this.closed = true;
    this.cleanup();
    this.upstream?.reset();
  }

  private cleanup(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.host) { this.host.activeRequests--; this.host = undefined; }
  }

  private fail(detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.cleanup();
    this.handler.onClose(undefined, detail);
  }

  private finish(trailers: HeaderList): void {
    if (this.closed) return;
    this.closed = true;
    this.cleanup();
    const status = getHeader(trailers, 'grpc-status');
    const message = getHeader(trailers, 'grpc-message');
    this.handler.onClose(status === undefined ? undefined : Number(status), message ? decodeURIComponent(message) : status === undefined ? 'stream ended without grpc-status' : '');
  }

  onUpstreamHeaders(status: number, headers: HeaderList, end: boolean): void {
    if (status !== 200) { this.upstream?.reset(); this.fail(`HTTP status ${status}`); return; }
    if (end) this.finish(headers);
  }

  onUpstreamData(chunk: Buffer, end: boolean): void {
    if (this.closed) return;
    let msgs: Buffer[];
    try { msgs = this.reader.push(chunk, this.svc.maxReceiveBytes); } catch (err) { this.upstream?.reset(); this.fail((err as Error).message); return; }
    for (const m of msgs) {
      if (this.closed) return;
      let decoded: Record<string, unknown>;
      try { decoded = fromBinary(this.responseType, m) as Record<string, unknown>; } catch (err) { this.upstream?.reset(); this.fail(`cannot decode ${this.responseType}: ${(err as Error).message}`); return; }
      this.handler.onMessage(decoded);
    }
    if (end) this.finish([]);
  }

  onUpstreamTrailers(trailers: HeaderList): void { this.finish(trailers); }

  onUpstreamReset(reason: ResetReason, detail: string): void {
    if (this.host) this.host.rqError++;
    this.fail(`${reason}${detail ? `: ${detail}` : ''}`);
  }

  onUpstreamWritable(): void {}
}
