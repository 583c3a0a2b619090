// The router filter: picks the cluster (single, header-named or weighted), computes the hash for
// consistent hashing, rewrites path and host, and forwards the request to a host from the
// cluster's load balancer; then the per-route timeout, retries (with jittered exponential
// back-off), request mirroring and upgrades (WebSocket) as Envoy's router does them.
import type { ForwardAction, HashPolicy, RetryPolicy } from '../router/route_action.js';
import { RetryOn } from '../router/route_action.js';
import type { Cluster } from '../upstream/cluster.js';
import { combineHash, hashString } from '../upstream/hash.js';
import type { Host } from '../upstream/host.js';
import type { ResetReason, Tunnel, UpstreamCallbacks, UpstreamRequestHead, UpstreamStream } from '../upstream/types.js';
import { getHeader, getJoined, setHeader, stripHopByHop, type HeaderList } from './headers.js';
import type { HttpStream } from './stream.js';
import { cookies, queryParams } from '../router/request.js';

const EMPTY = Buffer.alloc(0);

export class Router {
  private cluster: Cluster | undefined;
  private head!: UpstreamRequestHead;
  private attempt: Attempt | undefined;
  private attempts = 0;
  private retry: RetryPolicy | undefined;
  /** Request body kept for retries while it fits the buffer limit. */
  private body: Buffer[] | undefined = [];
  private bodySize = 0;
  private bodyEnded = false;
  private trailers: HeaderList | undefined;
  private timer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private hash: number | undefined;
  private triedHosts: Host[] | undefined;
  private mirrors: UpstreamStream[] | undefined;
  private finished = false;
  private startedAt = 0;
  private setCookie: string | undefined;

  /**
   * `held`: request body that arrived while the filters were running; `ended`: the request's end
   * came with it (with `trailers`, if any). Filters may still hold the rest of the body.
   */
  constructor(readonly stream: HttpStream, readonly action: ForwardAction, held: Buffer[] | undefined, ended: boolean, trailers: HeaderList | undefined) {
    if (held) for (const b of held) { this.body!.push(b); this.bodySize += b.length; }
    this.bodyEnded = ended;
    this.trailers = trailers;
  }

  start(): void {
    const s = this.stream;
    const a = this.action;
    this.startedAt = Date.now();
    if (a.hashPolicies.length) this.hash = this.computeHash(a.hashPolicies);
    let clusterName = a.cluster;
    let hostRewrite = a.hostRewriteLiteral;
    if (a.weighted) {
      const r = this.hash !== undefined && a.useHashPolicyForWeights ? this.hash % a.totalWeight : Math.floor(Math.random() * a.totalWeight);
      let wc = a.weighted[a.weighted.length - 1]!;
      for (const c of a.weighted) if (r < c.upTo) { wc = c; break; }
      clusterName = wc.name;
      wc.requestHeaders?.apply(s.headers, s);
      s.clusterResponseHeaders = wc.responseHeaders;
      if (wc.hostRewriteLiteral) hostRewrite = wc.hostRewriteLiteral;
    } else if (a.clusterHeader) {
      clusterName = getHeader(s.headers, a.clusterHeader) ?? '';
    }
    s.clusterName = clusterName;
    const cluster = (this.cluster = s.ctx.clusters.get(clusterName));
    if (!cluster) {
      s.responseFlags = 'NC';
      s.sendLocalReply(a.clusterNotFoundStatus, '', 'cluster_not_found');
      return;
    }
    // Upgrades must be allowed by the route (or, failing that, the connection manager).
    if (s.upgrade) {
      const type = s.upgrade.toLowerCase();
      const rc = a.upgrades.get(type);
      const allowed = rc ? rc.enabled : s.hcm.upgrades.get(type) === true;
      if (!allowed) { s.sendLocalReply(403, '', 'upgrade_failed'); return; }
    }
    // The cluster's upstream HTTP filters see the request once, before its first attempt; they
    // work on the request headers (credentials) and may answer it (admission control).
    const uf = cluster.settings.upstreamHttpFilters;
    if (uf) {
      for (const f of uf) {
        f.decodeHeaders?.(s);
        if (s.localReply || s.done) return;
      }
    }
    this.retry = a.retry ?? s.route!.virtualHost.retry;
    // Rewrites.
    let path = s.path;
    if (a.prefixRewrite !== undefined || a.regexRewrite) path = rewritePath(s, a);
    let authority = s.authority;
    if (hostRewrite) authority = hostRewrite;
    else if (a.hostRewriteHeader) authority = getHeader(s.headers, a.hostRewriteHeader) ?? authority;
    else if (a.hostRewritePathRegex) authority = a.hostRewritePathRegex.re.replaceAll(s.pathOnly, a.hostRewritePathRegex.substitution);
    if (authority !== s.authority && a.appendXForwardedHost) {
      const xfh = getHeader(s.headers, 'x-forwarded-host');
      setHeader(s.headers, 'x-forwarded-host', xfh ? `${xfh},${s.authority}` : s.authority);
    }
    const suppress = s.hcm.router.suppressEnvoyHeaders;
    if (!suppress) {
      if (path !== s.path) setHeader(s.headers, 'x-envoy-original-path', s.path);
      if (a.timeoutMs > 0) setHeader(s.headers, 'x-envoy-expected-rq-timeout-ms', String(a.timeoutMs));
    }
    this.head = {
      method: s.method,
      path,
      authority,
      scheme: s.scheme,
      headers: s.headers,
      bodyLength: s.bodyLength,
      upgrade: s.upgrade,
    };
    if (a.mirrors.length) this.startMirrors();
    if (s.requestComplete) this.startTimeout();
    const maxDuration = a.maxStreamDurationMs || s.hcm.maxStreamDurationMs;
    if (maxDuration) this.maxTimer = setTimeout(onMaxDuration, maxDuration, this);
    this.sendAttempt();
  }

  private computeHash(policies: HashPolicy[]): number | undefined {
    const s = this.stream;
    let hash: number | undefined;
    for (const p of policies) {
      let v: string | undefined;
      switch (p.kind) {
        case 'header': {
          v = getJoined(s.headers, p.name);
          if (p.name === ':authority' || p.name === 'host') v = s.authority;
          if (p.name === ':path') v = s.path;
          if (v !== undefined && p.rewrite) v = p.rewrite.re.replaceAll(v, p.rewrite.substitution);
          break;
        }
        case 'cookie': {
          v = cookies(s).get(p.name);
          if (v === undefined && p.ttlMs !== undefined) {
            // Envoy generates the cookie so that the client sticks from its next request on.
            v = hashString(`${s.downstream.remoteAddress}:${s.downstream.remotePort}:${Date.now()}:${Math.random()}`).toString(16);
            let c = `${p.name}="${v}"`;
            if (p.ttlMs > 0) c += `; Max-Age=${Math.floor(p.ttlMs / 1000)}`;
            if (p.path) c += `; Path=${p.path}`;
            for (const [k, val] of p.attributes) c += val ? `; ${k}=${val}` : `; ${k}`;
            c += '; HttpOnly';
            this.setCookie = c;
          }
          break;
        }
        case 'sourceIp': v = s.downstream.remoteAddress; break;
        case 'query': v = queryParams(s).get(p.name); break;
        case 'filterState': v = undefined; break;
      }
      if (v === undefined) continue;
      const h = hashString(v);
      hash = hash === undefined ? h : combineHash(hash, h);
      if (p.terminal) break;
    }
    return hash;
  }

  private sendAttempt(): void {
    const s = this.stream;
    const cluster = this.cluster!;
    const override = s.upstreamOverride;
    let host = override && cluster.overrideHost(override.address);
    if (host && this.triedHosts?.includes(host)) host = undefined;
    if (!host && !override?.strict) {
      host = cluster.chooseHost({
        hash: this.hash,
        avoid: this.retry?.avoidPreviousHosts ? this.triedHosts : undefined,
        maxAttempts: this.retry?.hostSelectionMaxAttempts ?? 1,
      });
    }
    if (!host) {
      s.responseFlags = 'UH';
      this.finishWithLocal(503, 'no healthy upstream', 'no_healthy_upstream');
      return;
    }
    this.attempts++;
    if (this.retry?.avoidPreviousHosts) (this.triedHosts ??= []).push(host);
    s.upstreamHost = host.toString();
    cluster.stats.upstream_rq_total++;
    host.activeRequests++;
    host.rqTotal++;
    const protocol = cluster.settings.protocol === 'h2' || (cluster.settings.protocol === 'downstream' && s.protocol === 'HTTP/2') ? 'h2' : 'h1';
    const pool = cluster.pool(host, protocol, s.downstream);
    // auto_host_rewrite: the Host becomes the chosen endpoint's hostname (DNS name or EDS hostname).
    if (this.action.autoHostRewrite && host.hostname && this.head.authority !== host.hostname) {
      if (this.action.appendXForwardedHost && getHeader(s.headers, 'x-forwarded-host') === undefined) s.headers.push('x-forwarded-host', s.authority);
      this.head = { ...this.head, authority: host.hostname };
    }
    const attempt = (this.attempt = new Attempt(this, host));
    const body = this.body;
    const endStream = this.bodyEnded && (!body || body.length === 0) && !this.trailers;
    const head = this.head;
    attempt.upstream = pool.newStream(head, endStream && head.bodyLength <= 0 ? true : endStream, attempt);
    if (body && body.length) {
      for (let i = 0; i < body.length; i++) attempt.upstream.sendData(body[i]!, this.bodyEnded && !this.trailers && i === body.length - 1);
    }
    if (this.trailers) attempt.upstream.sendTrailers(this.trailers);
    // Without a retry policy the body is never replayed: stop keeping it.
    if (!this.retry) this.body = undefined;
    const perTry = this.retry?.perTryTimeoutMs;
    if (perTry) attempt.timer = setTimeout(onPerTryTimeout, perTry, attempt);
    const idle = this.action.idleTimeoutMs;
    if (idle) attempt.idleTimer = setTimeout(onAttemptIdle, idle, attempt);
  }

  onRequestData(chunk: Buffer, end: boolean): void {
    if (this.finished) return;
    if (end) { this.bodyEnded = true; this.startTimeout(); }
    if (this.body) {
      if (chunk.length) {
        this.bodySize += chunk.length;
        if (this.bodySize > this.stream.ctx.bufferLimit) {
          // Too big to replay (or nothing to replay it for): stream it and give up retries.
          this.body = undefined;
        } else this.body.push(chunk);
      }
    }
    if (this.mirrors) for (const m of this.mirrors) m.sendData(chunk, end);
    const up = this.attempt?.upstream;
    if (up && !up.sendData(chunk, end)) this.stream.codec.readDisable(this.stream, true);
  }

  onRequestTrailers(trailers: HeaderList): void {
    if (this.finished) return;
    this.trailers = trailers;
    this.bodyEnded = true;
    this.startTimeout();
    if (this.mirrors) for (const m of this.mirrors) m.sendTrailers(trailers);
    this.attempt?.upstream?.sendTrailers(trailers);
  }

  private startTimeout(): void {
    if (this.timer || this.finished) return;
    const t = this.action.timeoutMs;
    if (t > 0 && !this.stream.upgrade) this.timer = setTimeout(onGlobalTimeout, t, this);
  }

  onGlobalTimeout(): void {
    if (this.finished) return;
    this.cluster!.stats.upstream_rq_timeout++;
    this.stream.ctx.hcm.stats.downstream_rq_timeout.value++;
    this.stream.responseFlags = 'UT';
    this.attempt?.host.outlier?.putResult('timeout');
    this.attempt?.abandon();
    this.finishWithLocal(504, 'upstream request timeout', 'upstream_response_timeout');
  }

  /** max_stream_duration: the stream is over whatever its state. */
  onMaxDuration(): void {
    this.maxTimer = undefined;
    if (this.finished) return;
    this.attempt?.abandon();
    this.stream.responseFlags = 'UMSDR';
    if (!this.stream.responseStarted) this.finishWithLocal(408, 'downstream duration timeout', 'max_duration_timeout');
    else { this.finish(); this.stream.codec.resetStream(this.stream); this.stream.complete(); }
  }

  onPerTryTimeout(a: Attempt): void {
    if (a !== this.attempt || this.finished) return;
    a.host.outlier?.putResult('timeout');
    a.abandon();
    this.stream.responseFlags = 'UT';
    if (!a.responseStarted && this.shouldRetryReset('timeout')) return;
    this.cluster!.stats.upstream_rq_timeout++;
    this.finishWithLocal(504, 'upstream request timeout', 'upstream_per_try_timeout');
  }

  onAttemptIdle(a: Attempt): void {
    if (a !== this.attempt || this.finished) return;
    a.abandon();
    this.stream.responseFlags = 'UT';
    if (!a.responseStarted && this.shouldRetryReset('timeout')) return;
    this.finishWithLocal(504, 'upstream request timeout', 'upstream_per_try_idle_timeout');
  }

  // --- attempt callbacks ---

  onHeaders(a: Attempt, status: number, headers: HeaderList, end: boolean): void {
    if (a !== this.attempt || this.finished) return;
    if (this.shouldRetryStatus(status, headers)) {
      a.abandon();
      this.scheduleRetry();
      return;
    }
    if (this.timer && status !== 101) { /* the timeout covers the whole response */ }
    const s = this.stream;
    stripHopByHop(headers, status === 101);
    if (this.setCookie) headers.push('set-cookie', this.setCookie);
    if (!s.hcm.router.suppressEnvoyHeaders) headers.push('x-envoy-upstream-service-time', String(Date.now() - this.startedAt));
    countUpstream(this.cluster!, status);
    // Finish first: completing the downstream response must not look like an abandoned attempt.
    if (end) this.finish();
    s.encodeHeaders(status, headers, end);
  }

  onData(a: Attempt, chunk: Buffer, end: boolean): void {
    if (a !== this.attempt || this.finished) return;
    if (end) this.finish();
    const ok = this.stream.encodeData(chunk, end);
    if (!ok && !end) a.upstream?.readDisable?.(true);
  }

  onTrailers(a: Attempt, trailers: HeaderList): void {
    if (a !== this.attempt || this.finished) return;
    this.finish();
    this.stream.encodeTrailers(trailers);
  }

  onReset(a: Attempt, reason: ResetReason, detail: string): void {
    if (a !== this.attempt || this.finished) return;
    a.clearTimers();
    a.host.rqError++;
    if (reason !== 'overflow') a.host.outlier?.putResult('connect-failed');
    const s = this.stream;
    if (reason === 'connect-failure' || reason === 'connect-timeout') this.cluster!.stats.upstream_cx_connect_fail++;
    if (a.responseStarted || s.responseStarted) {
      // Mid-response: nothing to retry; the client sees the stream end abruptly.
      s.responseFlags = 'UR';
      s.codec.resetStream(s);
      this.finish();
      s.complete();
      return;
    }
    if (this.shouldRetryReset(reason)) return;
    const flag = reason === 'overflow' ? 'UO' : reason === 'connect-failure' || reason === 'connect-timeout' ? 'UF' : 'UC';
    s.responseFlags = flag;
    const text = reason === 'overflow' ? 'overflow' : reason === 'connect-failure' || reason === 'connect-timeout' ? 'connection failure' : reason === 'protocol-error' ? 'protocol error' : 'connection termination';
    const suffix = (reason === 'connect-failure' || reason === 'connect-timeout') && detail ? `, transport failure reason: ${detail}` : '';
    // A request dropped by a circuit breaker says so, unless Envoy headers are suppressed.
    const overloaded = reason === 'overflow' && !s.hcm.router.suppressEnvoyHeaders ? ['x-envoy-overloaded', 'true'] : undefined;
    this.finishWithLocal(503, `upstream connect error or disconnect/reset before headers. reset reason: ${text}${suffix}`, `upstream_reset_before_response_started{${text}}`, overloaded);
  }

  onWritable(a: Attempt): void {
    if (a === this.attempt) this.stream.codec.readDisable(this.stream, false);
  }

  onUpgrade(a: Attempt, tunnel: Tunnel, head: Buffer): void {
    if (a !== this.attempt || this.finished) { tunnel.destroy(); return; }
    a.clearTimers();
    this.finished = true;
    this.clearTimers();
    const s = this.stream;
    if (!s.codec.upgradeTunnel) { tunnel.destroy(); s.codec.resetStream(s); return; }
    s.codec.upgradeTunnel(s, tunnel, head);
  }

  // --- retries ---

  private retriesLeft(): boolean {
    const r = this.retry;
    if (!r || this.body === undefined || this.stream.upgrade) return false;
    if (this.attempts > r.numRetries) return false;
    const res = this.cluster!.resources;
    if (res.activeRetries >= res.breakers.maxRetries) { res.overflowRetries++; return false; }
    return true;
  }

  private shouldRetryStatus(status: number, headers: HeaderList): boolean {
    const r = this.retry;
    if (!r || !this.retriesLeft()) return false;
    const on = r.retryOn;
    let retry = false;
    if (on & RetryOn.FiveXX && status >= 500) retry = true;
    else if (on & RetryOn.GatewayError && status >= 502 && status <= 504) retry = true;
    else if (on & RetryOn.Retriable4xx && status === 409) retry = true;
    else if (on & RetryOn.RetriableStatusCodes && r.retriableStatusCodes.has(status)) retry = true;
    else if (on & (RetryOn.GrpcCancelled | RetryOn.GrpcDeadlineExceeded | RetryOn.GrpcInternal | RetryOn.GrpcResourceExhausted | RetryOn.GrpcUnavailable)) {
      const g = getHeader(headers, 'grpc-status');
      if (g === '1' && on & RetryOn.GrpcCancelled) retry = true;
      else if (g === '4' && on & RetryOn.GrpcDeadlineExceeded) retry = true;
      else if (g === '13' && on & RetryOn.GrpcInternal) retry = true;
      else if (g === '8' && on & RetryOn.GrpcResourceExhausted) retry = true;
      else if (g === '14' && on & RetryOn.GrpcUnavailable) retry = true;
    }
    return retry;
  }

  /** Returns true when a retry was scheduled for this reset. */
  private shouldRetryReset(reason: ResetReason | 'timeout'): boolean {
    const r = this.retry;
    if (!r || !this.retriesLeft()) return false;
    const on = r.retryOn;
    let retry = false;
    if (reason === 'overflow') retry = false;
    else if (reason === 'connect-failure' || reason === 'connect-timeout') retry = (on & (RetryOn.ConnectFailure | RetryOn.FiveXX | RetryOn.GatewayError | RetryOn.Reset | RetryOn.ResetBeforeRequest)) !== 0;
    else if (reason === 'refused-stream') retry = (on & (RetryOn.RefusedStream | RetryOn.FiveXX | RetryOn.Reset)) !== 0;
    else if (reason === 'timeout') retry = (on & (RetryOn.FiveXX | RetryOn.GatewayError | RetryOn.Reset)) !== 0;
    else retry = (on & (RetryOn.Reset | RetryOn.FiveXX | RetryOn.GatewayError)) !== 0;
    if (retry) this.scheduleRetry();
    return retry;
  }

  private scheduleRetry(): void {
    const r = this.retry!;
    const res = this.cluster!.resources;
    res.activeRetries++;
    this.cluster!.stats.upstream_rq_retry++;
    this.attempt = undefined;
    // Fully jittered exponential back-off: uniform in [0, min(max, base * 2^n)).
    const n = this.attempts - 1;
    const ceiling = Math.min(r.maxIntervalMs, r.baseIntervalMs * 2 ** n);
    const delay = Math.floor(Math.random() * ceiling);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      res.activeRetries--;
      if (!this.finished) this.sendAttempt();
    }, delay);
  }

  // --- mirrors ---

  private startMirrors(): void {
    const s = this.stream;
    for (const m of this.action.mirrors) {
      if (m.probability < 1 && Math.random() >= m.probability) continue;
      const name = m.cluster || getHeader(s.headers, m.clusterHeader) || '';
      const cluster = s.ctx.clusters.get(name);
      const host = cluster?.chooseHost({ hash: this.hash, avoid: undefined, maxAttempts: 1 });
      if (!cluster || !host) continue;
      const authority = m.appendShadowSuffix ? shadowHost(this.head.authority) : this.head.authority;
      const head: UpstreamRequestHead = { ...this.head, authority, headers: this.head.headers.slice() };
      const protocol = cluster.settings.protocol === 'h2' ? 'h2' : 'h1';
      cluster.stats.upstream_rq_total++;
      const up = cluster.pool(host, protocol).newStream(head, s.requestComplete && head.bodyLength <= 0, MIRROR_CALLBACKS);
      (this.mirrors ??= []).push(up);
    }
  }

  // --- completion ---

  private finishWithLocal(status: number, body: string, details: string, extraHeaders?: HeaderList): void {
    this.finish();
    this.stream.sendLocalReply(status, body, details, extraHeaders);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    if (this.attempt) this.attempt.done();
  }

  private clearTimers(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.maxTimer) { clearTimeout(this.maxTimer); this.maxTimer = undefined; }
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.cluster!.resources.activeRetries--;
    }
  }

  /** A local reply (filter, timeout) took over: stop the upstream side. */
  cancel(): void {
    if (this.finished) return;
    this.attempt?.abandon();
    this.finish();
  }

  /** The client caught up: read the upstream response again. */
  onDownstreamWritable(): void {
    this.attempt?.upstream?.readDisable?.(false);
  }

  onDownstreamReset(): void {
    this.attempt?.abandon();
    this.finish();
  }

  onStreamComplete(): void {
    if (!this.finished) { this.attempt?.abandon(); this.finish(); }
  }
}

/** One try of the request against one host. */
class Attempt implements UpstreamCallbacks {
  upstream: UpstreamStream | undefined;
  timer: NodeJS.Timeout | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  responseStarted = false;
  private released = false;

  constructor(readonly router: Router, readonly host: Host) {}

  onUpstreamHeaders(status: number, headers: HeaderList, endStream: boolean): void {
    this.responseStarted = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    this.idleTimer?.refresh();
    if (status >= 500) this.host.rqError++;
    this.host.outlier?.putHttpResponseCode(status);
    this.router.onHeaders(this, status, headers, endStream);
  }
  onUpstreamData(chunk: Buffer, endStream: boolean): void {
    this.idleTimer?.refresh();
    this.router.onData(this, chunk, endStream);
  }
  onUpstreamTrailers(trailers: HeaderList): void {
    this.router.onTrailers(this, trailers);
  }
  onUpstreamReset(reason: ResetReason, detail: string): void {
    this.release();
    this.router.onReset(this, reason, detail);
  }
  onUpstreamWritable(): void {
    this.router.onWritable(this);
  }
  onUpstreamUpgrade(tunnel: Tunnel, head: Buffer): void {
    this.release();
    this.router.onUpgrade(this, tunnel, head);
  }

  clearTimers(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
  }

  /** Stop this attempt: the upstream stream is reset and its connection not reused. */
  abandon(): void {
    this.clearTimers();
    this.upstream?.reset();
    this.release();
  }

  /** The attempt finished normally. */
  done(): void {
    this.clearTimers();
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.host.activeRequests--;
  }
}

function onPerTryTimeout(a: Attempt): void { a.router.onPerTryTimeout(a); }
function onAttemptIdle(a: Attempt): void { a.router.onAttemptIdle(a); }
function onGlobalTimeout(r: Router): void { r.onGlobalTimeout(); }
function onMaxDuration(r: Router): void { r.onMaxDuration(); }

const MIRROR_CALLBACKS: UpstreamCallbacks = {
  onUpstreamHeaders() {},
  onUpstreamData() {},
  onUpstreamTrailers() {},
  onUpstreamReset() {},
  onUpstreamWritable() {},
};

function countUpstream(c: Cluster, status: number): void {
  if (status < 300) c.stats.upstream_rq_2xx++;
  else if (status < 400) c.stats.upstream_rq_3xx++;
  else if (status < 500) c.stats.upstream_rq_4xx++;
  else c.stats.upstream_rq_5xx++;
}

/** Envoy's shadow host: "-shadow" appended to the host name, before any port. */
export function shadowHost(authority: string): string {
  const colon = authority.lastIndexOf(':');
  if (colon > 0 && !authority.endsWith(']') && authority.indexOf(':') === colon) return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  return `${authority}-shadow`;
}

function rewritePath(s: HttpStream, a: ForwardAction): string {
  const q = s.path.indexOf('?');
  const pathOnly = q < 0 ? s.path : s.path.slice(0, q);
  const query = q < 0 ? '' : s.path.slice(q);
  if (a.regexRewrite) return a.regexRewrite.re.replaceAll(pathOnly, a.regexRewrite.substitution) + query;
  const m = s.route!.match;
  const rewrite = a.prefixRewrite!;
  if (m.pathKind === 'prefix' || m.pathKind === 'separated') {
    const rest = pathOnly.slice(m.pathLiteral.length);
    return rewrite + rest + query;
  }
  if (m.pathKind === 'path') return rewrite + query;
  return s.path;
}
