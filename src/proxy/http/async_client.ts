// Requests the proxy makes on its own behalf (Envoy's AsyncClient): a JWKS fetch, an OAuth2 token
// exchange, an ext_authz check over HTTP or gRPC. They go to a cluster by name through its load
// balancer and connection pools, like routed traffic, with a timeout and an optional
// core.v3.RetryPolicy, and come back buffered. Nothing here runs unless a filter calls it.
import { ConfigError } from '../config/errors.js';
import { at, durationMs, numOr, obj, str, type Json } from '../config/json.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';
import type { Host } from '../upstream/host.js';
import type { ResetReason, UpstreamCallbacks, UpstreamStream } from '../upstream/types.js';
import { getHeader, type HeaderList } from './headers.js';

export interface CallRequest {
  method: string;
  path: string;
  authority: string;
  /** 'http' or 'https' (the :scheme of an HTTP/2 request). */
  scheme?: string;
  headers: HeaderList;
  body?: Buffer;
  /** 0 means no timeout. */
  timeoutMs: number;
  /** 'h2' for gRPC; otherwise the cluster's configured protocol. */
  protocol?: 'h1' | 'h2';
  retry?: CallRetryPolicy;
}

export interface CallResponse {
  status: number;
  headers: HeaderList;
  body: Buffer;
  trailers: HeaderList | undefined;
}

export type CallFailure = 'cluster-not-found' | 'no-healthy-upstream' | 'timeout' | 'reset';

export type CallResult =
  | { ok: true; response: CallResponse }
  | { ok: false; failure: CallFailure; detail: string };

/** A call in flight; cancel() abandons it (its result then never settles). */
export interface AsyncCall {
  readonly result: Promise<CallResult>;
  cancel(): void;
}

/** envoy.config.core.v3.RetryPolicy, as remote data sources and auth services use it. */
export interface CallRetryPolicy {
  numRetries: number;
  baseIntervalMs: number;
  maxIntervalMs: number;
  /** Retry on a 5xx answer or a reset. */
  on5xx: boolean;
  onGatewayError: boolean;
  onReset: boolean;
  onConnectFailure: boolean;
  onRetriable4xx: boolean;
  /** gRPC status codes retried (from grpc-status). */
  grpcCodes: Set<number>;
}

const GRPC_RETRY_ON: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };

export function compileCallRetry(c: Json | undefined, path: string): CallRetryPolicy | undefined {
  if (!c) return undefined;
  const on = str(c, 'retryOn', path).split(',').map((s) => s.trim()).filter(Boolean);
  const grpcCodes = new Set<number>();
  for (const o of on) {
    if (GRPC_RETRY_ON[o] !== undefined) grpcCodes.add(GRPC_RETRY_ON[o]!);
    else if (!['5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure', 'envoy-ratelimited'].includes(o)) {
      throw new ConfigError(at(path, 'retryOn'), `unknown retry condition ${o}`);
    }
  }
  const bo = obj(c, 'retryBackOff', path);
  const base = (bo && durationMs(bo, 'baseInterval', at(path, 'retryBackOff'))) ?? 1000;
  const max = (bo && durationMs(bo, 'maxInterval', at(path, 'retryBackOff'))) ?? base * 10;
  // core.v3.RetryPolicy: num_retries defaults to 1; with no retry_on, Envoy retries on the
  // conditions of a remote data source (5xx, gateway errors, connect failures, resets).
  const none = on.length === 0;
  return {
    numRetries: numOr(c, 'numRetries', path, 1),
    baseIntervalMs: base,
    maxIntervalMs: Math.max(max, base),
    on5xx: none || on.includes('5xx'),
    onGatewayError: none || on.includes('gateway-error'),
    onReset: none || on.includes('reset') || on.includes('5xx'),
    onConnectFailure: none || on.includes('connect-failure') || on.includes('5xx') || on.includes('gateway-error'),
    onRetriable4xx: on.includes('retriable-4xx'),
    grpcCodes,
  };
}

/** A core.v3.HttpUri: where a request goes (cluster) and what it says (authority, path). */
export interface HttpUri {
  uri: string;
  cluster: string;
  scheme: string;
  authority: string;
  /** Path with query. */
  path: string;
  timeoutMs: number;
}

export function compileHttpUri(c: Json | undefined, path: string): HttpUri {
  if (!c) throw new ConfigError(path, 'required');
  const uri = str(c, 'uri', path);
  const cluster = str(c, 'cluster', path);
  if (!cluster) throw new ConfigError(at(path, 'cluster'), 'required');
  let u: URL;
  try { u = new URL(uri); } catch { throw new ConfigError(at(path, 'uri'), `invalid URI ${JSON.stringify(uri)}`); }
  const timeoutMs = durationMs(c, 'timeout', path);
  if (timeoutMs === undefined) throw new ConfigError(at(path, 'timeout'), 'required');
  return { uri, cluster, scheme: u.protocol.replace(':', ''), authority: u.host, path: `${u.pathname}${u.search}`, timeoutMs };
}

/** Sends a request to a cluster and buffers the answer; retries as the policy says. */
export function callCluster(clusters: ClusterManagerView, clusterName: string, req: CallRequest): AsyncCall {
  const call = new Call(clusters, clusterName, req);
  return call;
}

class Call implements AsyncCall {
  readonly result: Promise<CallResult>;
  private settle!: (r: CallResult) => void;
  private attempts = 0;
  private upstream: UpstreamStream | undefined;
  private host: Host | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private status = 0;
  private headers: HeaderList = [];
  private chunks: Buffer[] = [];
  private done = false;
  private attemptId = 0;

  constructor(private readonly clusters: ClusterManagerView, private readonly clusterName: string, private readonly req: CallRequest) {
    this.result = new Promise((resolve) => { this.settle = resolve; });
    if (req.timeoutMs > 0) this.timer = setTimeout(() => this.finish({ ok: false, failure: 'timeout', detail: `no answer within ${req.timeoutMs} ms` }), req.timeoutMs);
    this.attempt();
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.cleanup(true);
  }

  private cleanup(reset: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.releaseHost();
    if (reset) this.upstream?.reset();
    this.upstream = undefined;
  }

  private releaseHost(): void {
    if (this.host) { this.host.activeRequests--; this.host = undefined; }
  }

  private finish(r: CallResult): void {
    if (this.done) return;
    this.done = true;
    this.cleanup(!r.ok);
    this.settle(r);
  }

  private attempt(): void {
    if (this.done) return;
    this.attempts++;
    this.attemptId++;
    this.status = 0;
    this.headers = [];
    this.chunks = [];
    const cluster: Cluster | undefined = this.clusters.get(this.clusterName);
    if (!cluster) { this.finish({ ok: false, failure: 'cluster-not-found', detail: `cluster ${this.clusterName} is not configured` }); return; }
    const host = cluster.chooseHost({ hash: undefined, avoid: undefined, maxAttempts: 1 });
    if (!host) { this.finish({ ok: false, failure: 'no-healthy-upstream', detail: `no healthy host in cluster ${this.clusterName}` }); return; }
    this.host = host;
    host.activeRequests++;
    host.rqTotal++;
    cluster.stats.upstream_rq_total++;
    const protocol = this.req.protocol ?? (cluster.settings.protocol === 'h2' ? 'h2' : 'h1');
    const pool = cluster.pool(host, protocol);
    const body = this.req.body;
    const headers = this.req.headers.slice();
    if (body?.length && getHeader(headers, 'content-length') === undefined) headers.push('content-length', String(body.length));
    const id = this.attemptId;
    const cb: UpstreamCallbacks = {
      onUpstreamHeaders: (status, h, end) => { if (id === this.attemptId) this.onUpstreamHeaders(status, h, end); },
      onUpstreamData: (chunk, end) => { if (id === this.attemptId) this.onUpstreamData(chunk, end); },
      onUpstreamTrailers: (t) => { if (id === this.attemptId) this.onUpstreamTrailers(t); },
      onUpstreamReset: (reason, detail) => { if (id === this.attemptId) this.onUpstreamReset(reason, detail); },
      onUpstreamWritable: () => {},
    };
    this.upstream = pool.newStream({
      method: this.req.method,
      path: this.req.path,
      authority: this.req.authority,
      scheme: this.req.scheme ?? 'http',
      headers,
      bodyLength: body?.length ?? 0,
      upgrade: undefined,
    }, !body?.length, cb);
    if (body?.length) this.upstream.sendData(body, true);
  }

  onUpstreamHeaders(status: number, headers: HeaderList, end: boolean): void {
    this.status = status;
    this.headers = headers;
    if (status >= 500 && this.host) this.host.rqError++;
    if (end) this.complete(undefined);
  }

  onUpstreamData(chunk: Buffer, end: boolean): void {
    if (chunk.length) this.chunks.push(chunk);
    if (end) this.complete(undefined);
  }

  onUpstreamTrailers(trailers: HeaderList): void {
    this.complete(trailers);
  }

  onUpstreamReset(reason: ResetReason, detail: string): void {
    this.releaseHost();
    this.upstream = undefined;
    const r = this.req.retry;
    const connect = reason === 'connect-failure' || reason === 'connect-timeout';
    if (r && (connect ? r.onConnectFailure : r.onReset)) { if (this.scheduleRetry()) return; }
    this.finish({ ok: false, failure: 'reset', detail: `${reason}${detail ? `: ${detail}` : ''}` });
  }

  onUpstreamWritable(): void {}

  private complete(trailers: HeaderList | undefined): void {
    this.releaseHost();
    this.upstream = undefined;
    const status = this.status;
    const r = this.req.retry;
    if (r) {
      const grpc = getHeader(trailers ?? this.headers, 'grpc-status');
      const retriable = (r.on5xx && status >= 500) || (r.onGatewayError && (status === 502 || status === 503 || status === 504))
        || (r.onRetriable4xx && status === 409) || (grpc !== undefined && r.grpcCodes.has(Number(grpc)));
      if (retriable && this.scheduleRetry()) return;
    }
    this.finish({ ok: true, response: { status, headers: this.headers, body: this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks), trailers } });
  }

  /** Schedules the next attempt with jittered exponential back-off; false when none is left. */
  private scheduleRetry(): boolean {
    const r = this.req.retry!;
    if (this.attempts > r.numRetries || this.done) return false;
    const ceiling = Math.min(r.maxIntervalMs, r.baseIntervalMs * 2 ** (this.attempts - 1));
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.attempt(); }, Math.random() * ceiling);
    return true;
  }
}
