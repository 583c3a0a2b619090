// One HTTP request/response exchange as the connection manager processes it, whatever the
// downstream protocol: header checks and mutations, routing, the HTTP filters, then the router.
// The codec creates the stream from the parsed request head and feeds it the body; the stream
// answers through the codec. It is also the request view route matching reads and the
// StreamInfo that formatters and access logs read, so one object serves a request.
import { createHash, randomUUID } from 'node:crypto';
import type { Route } from '../router/route_table.js';
import type { MatchRequest } from '../router/request.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';
import type { Tunnel } from '../upstream/types.js';
import { FilterStatus, type HttpFilter } from './filter.js';
import type { PerFilterConfig } from './filter_registry.js';
import type { HcmConfig } from './hcm_config.js';
import { getHeader, getJoined, removeHeader, setHeader, stripHopByHop, type HeaderList } from './headers.js';
import { processPath } from './path.js';
import { Router } from './router.js';
import type { DownstreamInfo, StreamInfo } from './stream_info.js';

/** What the stream needs from the downstream codec (HTTP/1.1 connection or HTTP/2 stream). */
export interface DownstreamCodec {
  readonly protocol: 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';
  encodeHeaders(s: HttpStream, status: number, headers: HeaderList, endStream: boolean): void;
  /** Returns false when the client is backed up. */
  encodeData(s: HttpStream, chunk: Buffer, endStream: boolean): boolean;
  encodeTrailers(s: HttpStream, trailers: HeaderList): void;
  /** Abort the response (after headers were sent, the client sees a reset/close). */
  resetStream(s: HttpStream): void;
  /** Stop or resume reading the request body. */
  readDisable(s: HttpStream, disable: boolean): void;
  /** The stream finished (response sent or reset): the codec may move to the next one. */
  streamDone?(s: HttpStream): void;
  /** After a 101 to the client: the raw downstream byte stream. Undefined when not possible. */
  upgradeTunnel?(s: HttpStream, upstream: Tunnel, head: Buffer): void;
}

/** What every stream on one connection shares. */
export interface ConnectionContext {
  hcm: HcmConfig;
  clusters: ClusterManagerView;
  downstream: DownstreamInfo;
  /** Request bytes kept for retries and mirrors (the listener's per-connection buffer limit). */
  bufferLimit: number;
}

export class HttpStream implements MatchRequest, StreamInfo {
  // --- request (MatchRequest) ---
  method = 'GET';
  path = '/';
  pathOnly = '/';
  authority = '';
  scheme = 'http';
  headers: HeaderList = [];
  tls = false;
  peerCertPresented = false;
  queryParams: Map<string, string> | undefined = undefined;
  cookies: Map<string, string> | undefined = undefined;
  /** content-length, -1 for a streamed (chunked) body, 0 for none. */
  bodyLength = 0;
  upgrade: string | undefined = undefined;
  requestComplete = false;
  requestTrailers: HeaderList | undefined;

  // --- StreamInfo ---
  downstream: DownstreamInfo;
  protocol: string;
  startTime = Date.now();
  originalPath = '/';
  routeName = '';
  clusterName = '';
  upstreamHost = '';
  /** The upstream host a filter asks for (stateful session): address, and whether only it will do. */
  upstreamOverride: { address: string; strict: boolean } | undefined = undefined;
  responseCode = 0;
  responseFlags = '';
  responseCodeDetails = '';
  bytesReceived = 0;
  bytesSent = 0;
  requestId = '';
  get requestHeaders(): HeaderList { return this.headers; }
  responseHeaders: HeaderList | undefined = undefined;
  responseTrailers: HeaderList | undefined = undefined;
  /** When the response finished (ms since epoch), for %DURATION%. */
  endTime = 0;

  // --- processing state ---
  route: Route | undefined;
  router: Router | undefined;
  /** The next decoder filter whose decodeHeaders runs (past the end: the router started). */
  private filterIndex = 0;
  /** Request body waiting where the decoder chain stands (a filter holds the headers). */
  private heldBody: Buffer[] | undefined;
  /** The request's end has reached the router's side of the chain (or waits there). */
  private heldEnd = false;
  private heldTrailers: HeaderList | undefined;
  /** The request ended with its headers (no body, no trailers). */
  headersOnly = false;
  /** Response headers: 0 not yet, 1 in the encoder filters, 2 handed to the codec. */
  private encodeState = 0;
  /** The next encoder filter whose encodeHeaders runs (the chain runs downwards). */
  private encodeIndex = -1;
  /** The response ends with its headers (no body), as the encoder filters see it. */
  responseEnd = false;
  /** Response body (and end, trailers) waiting where the encoder chain stands. */
  private heldResponse: Buffer[] | undefined;
  private heldResponseEnd = false;
  private heldResponseTrailers: HeaderList | undefined;
  /** A local reply replaced a response that filters were still encoding: their output goes nowhere. */
  private replaced = false;
  responseStarted = false;
  responseComplete = false;
  done = false;
  /** Set by a codec when the client went away. */
  reset = false;
  /** The response was generated by the proxy (a local reply), not received from upstream. */
  localReply = false;
  /** Response header mutations chosen by the router (weighted cluster level). */
  clusterResponseHeaders: import('./header_mutation.js').HeaderMutation | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Filters that asked to see this stream's bodies (see HttpFilter.decodeData), in chain order. */
  dataFilters: HttpFilter[] | undefined = undefined;
  /** The chain position of each of dataFilters. */
  private dataFilterPos: number[] | undefined;
  /** Filters to tell when the stream is over. */
  private completionWatchers: HttpFilter[] | undefined;
  /** Per-stream state of filters, by filter. */
  filterState: Map<object, unknown> | undefined = undefined;
  /** Envoy's dynamic metadata: namespace (usually a filter name) → values filters set and read. */
  dynamicMetadata: Record<string, Record<string, unknown>> | undefined = undefined;
  /** The codec's own per-stream object (the HTTP/2 stream), when it needs one. */
  codecStream: any = undefined;

  constructor(readonly codec: DownstreamCodec, readonly ctx: ConnectionContext) {
    this.downstream = ctx.downstream;
    this.protocol = codec.protocol;
    this.tls = ctx.downstream.tls;
    this.scheme = this.tls ? 'https' : 'http';
    this.peerCertPresented = ctx.downstream.peerCertificate !== undefined;
  }

  get hcm(): HcmConfig { return this.ctx.hcm; }

  /** The request head is complete. */
  decodeHeaders(endStream: boolean): void {
    const hcm = this.ctx.hcm;
    hcm.stats.downstream_rq_total.value++;
    hcm.stats.downstream_rq_active.value++;
    this.requestComplete = endStream;
    this.headersOnly = endStream;
    this.heldEnd = endStream;
    this.originalPath = this.path;
    if (hcm.streamIdleTimeoutMs > 0) this.armIdleTimer(hcm.streamIdleTimeoutMs);
    if (!this.checkRequest(hcm)) return;
    this.mutateRequestHeaders(hcm);
    const table = hcm.routes.table;
    this.route = table ? table.route(this) : undefined;
    if (this.route) this.routeName = this.route.name;
    this.runDecoderFilters();
  }

  /** A request the codec refuses before routing (bad framing, HTTP/1.0 not allowed, ...). */
  reject(status: number, details: string): void {
    const hcm = this.ctx.hcm;
    hcm.stats.downstream_rq_total.value++;
    hcm.stats.downstream_rq_active.value++;
    this.originalPath = this.path;
    this.sendLocalReply(status, '', details);
  }

  /** Resumes the filter chain after a filter returned Stop and finished its work. */
  continueDecoding(): void {
    if (this.done) return;
    this.runDecoderFilters();
  }

  private runDecoderFilters(): void {
    const filters = this.ctx.hcm.filters;
    while (this.filterIndex < filters.length) {
      const i = this.filterIndex++;
      const f = filters[i]!;
      if (!f.decodeHeaders) continue;
      const pf = this.perFilterConfig(f.name);
      if (pf?.disabled || ((f as { disabledByDefault?: boolean }).disabledByDefault && !pf)) continue;
      const status = f.decodeHeaders(this);
      if (this.done) return;
      // Body that waited for this filter's headers hook goes through it now.
      if (this.heldBody && this.dataFilters) {
        const at = this.dataFilters.indexOf(f);
        if (at >= 0) this.replayHeldBody(at);
        if (this.done) return;
      }
      if (status === FilterStatus.Stop) return;
    }
    // A filter may have resumed the chain from inside its own hook: start the router once.
    if (this.filterIndex !== filters.length) return;
    this.filterIndex = filters.length + 1;
    this.startRouter();
  }

  private replayHeldBody(from: number): void {
    const held = this.heldBody!;
    const end = this.heldEnd && !this.heldTrailers;
    const trailers = this.heldTrailers;
    this.heldBody = undefined;
    this.heldEnd = false;
    this.heldTrailers = undefined;
    this.passDecodeData(from, held.length === 1 ? held[0]! : Buffer.concat(held), end);
    if (trailers && !this.done) this.passDecodeTrailers(from, trailers);
  }

  private startRouter(): void {
    const route = this.route;
    // No route: the router answers 404 (filters before it still ran, as in Envoy).
    if (!route) {
      this.ctx.hcm.stats.rq_no_route.value++;
      this.responseFlags = 'NR';
      this.sendLocalReply(404, '', 'route_not_found');
      return;
    }
    const action = route.action;
    const vh = route.virtualHost;
    if (vh.requireTls !== 'NONE' && !this.tls) {
      this.sendRedirect(301, `https://${this.authority}${this.path}`);
      return;
    }
    if (action.kind === 'direct') {
      this.ctx.hcm.stats.rq_direct_response.value++;
      this.responseCodeDetails = 'direct_response';
      const headers: HeaderList = [];
      if (action.body?.length) headers.push('content-type', 'text/plain');
      this.encodeLocal(action.status, headers, action.body, 'direct_response');
      return;
    }
    if (action.kind === 'redirect') {
      this.ctx.hcm.stats.rq_redirect.value++;
      this.sendRedirect(action.status, redirectLocation(this, action));
      return;
    }
    // Route-level request header mutations: most specific first, so the general ones win.
    route.requestHeaders?.apply(this.headers, this);
    vh.requestHeaders?.apply(this.headers, this);
    vh.table.requestHeaders?.apply(this.headers, this);
    const held = this.heldBody;
    this.heldBody = undefined;
    this.router = new Router(this, action, held, this.heldEnd, this.heldTrailers);
    this.heldTrailers = undefined;
    this.router.start();
  }

  /** Enlists a filter for this stream's body and trailer hooks (kept in chain order). */
  addDataFilter(f: HttpFilter): void {
    const pos = this.ctx.hcm.filters.indexOf(f);
    const df = (this.dataFilters ??= []);
    const dp = (this.dataFilterPos ??= []);
    if (df.includes(f)) return;
    let i = dp.length;
    while (i > 0 && dp[i - 1]! > pos) i--;
    df.splice(i, 0, f);
    dp.splice(i, 0, pos);
  }

  /** Asks for f.onStreamComplete when the stream is over. */
  watchCompletion(f: HttpFilter): void {
    (this.completionWatchers ??= []).push(f);
  }

  decodeData(chunk: Buffer, endStream: boolean): void {
    if (this.done) return;
    this.bytesReceived += chunk.length;
    if (endStream) this.requestComplete = true;
    if (this.idleTimer) this.idleTimer.refresh();
    const df = this.dataFilters;
    if (!df && this.router) { this.router.onRequestData(chunk, endStream); return; }
    this.passDecodeData(0, chunk, endStream);
  }

  /** Request body a filter held, passed on to the filters after it. */
  injectDecodedData(f: HttpFilter, chunk: Buffer, endStream: boolean): void {
    if (this.done) return;
    this.passDecodeData((this.dataFilters?.indexOf(f) ?? -1) + 1, chunk, endStream);
  }

  /** Request trailers a filter held, passed on to the filters after it. */
  injectDecodedTrailers(f: HttpFilter, trailers: HeaderList): void {
    if (this.done) return;
    this.passDecodeTrailers((this.dataFilters?.indexOf(f) ?? -1) + 1, trailers);
  }

  /** Body from enlisted filter number `from` on (those whose headers hook ran), then the router. */
  private passDecodeData(from: number, chunk: Buffer, endStream: boolean): void {
    const df = this.dataFilters;
    if (df) {
      for (let i = from; i < df.length; i++) {
        const f = df[i]!;
        if (!f.decodeData) continue;
        const out = f.decodeData(this, chunk, endStream);
        if (out === undefined || this.done) return;
        chunk = out;
      }
    }
    if (!chunk.length && !endStream) return;
    if (this.router) { this.router.onRequestData(chunk, endStream); return; }
    const held = (this.heldBody ??= []);
    if (chunk.length) held.push(chunk);
    if (endStream) this.heldEnd = true;
  }

  private passDecodeTrailers(from: number, trailers: HeaderList): void {
    const df = this.dataFilters;
    if (df) {
      for (let i = from; i < df.length; i++) {
        const f = df[i]!;
        if (f.decodeTrailers && f.decodeTrailers(this, trailers) === FilterStatus.Stop) return;
        if (this.done) return;
      }
    }
    if (this.router) { this.router.onRequestTrailers(trailers); return; }
    this.heldBody ??= [];
    this.heldEnd = true;
    this.heldTrailers = trailers;
  }

  decodeTrailers(trailers: HeaderList): void {
    if (this.done) return;
    this.requestComplete = true;
    this.requestTrailers = trailers;
    if (!this.dataFilters && this.router) { this.router.onRequestTrailers(trailers); return; }
    this.passDecodeTrailers(0, trailers);
  }

  /** Sets a dynamic metadata field (namespace: usually the filter's canonical name). */
  setMetadata(namespace: string, key: string, value: unknown): void {
    const md = (this.dynamicMetadata ??= {});
    (md[namespace] ??= {})[key] = value;
  }

  /** The client went away or reset the stream. */
  onDownstreamReset(): void {
    if (this.done) return;
    this.reset = true;
    this.responseFlags ||= 'DC';
    this.router?.onDownstreamReset();
    this.complete();
  }

  /** Per-route config for a filter instance: route, then virtual host, then route configuration. */
  perFilterConfig(name: string): PerFilterConfig | undefined {
    const r = this.route;
    if (!r) return undefined;
    return r.perFilter?.get(name) ?? r.virtualHost.perFilter?.get(name) ?? r.virtualHost.table.perFilter?.get(name);
  }

  // --- request checks and mutations (connection manager) ---

  private checkRequest(hcm: HcmConfig): boolean {
    const h = this.headers;
    if (hcm.headersWithUnderscores !== 'ALLOW') {
      for (let i = 0; i < h.length; i += 2) {
        if (h[i]!.includes('_')) {
          if (hcm.headersWithUnderscores === 'REJECT_REQUEST') {
            this.sendLocalReply(400, '', 'unexpected_underscore');
            return false;
          }
          h.splice(i, 2);
          i -= 2;
        }
      }
    }
    if (h.length / 2 > hcm.maxHeadersCount) {
      this.sendLocalReply(431, '', 'too_many_headers');
      return false;
    }
    if (!this.authority) {
      if (this.protocol === 'HTTP/1.0' && hcm.defaultHostForHttp10) this.authority = hcm.defaultHostForHttp10;
      else {
        this.sendLocalReply(400, '', 'missing_host_header');
        return false;
      }
    }
    if (hcm.stripTrailingHostDot && this.authority.endsWith('.')) this.authority = this.authority.slice(0, -1);
    if (this.method !== 'CONNECT') {
      if (this.path.charCodeAt(0) !== 47 /* / */ && !(this.path === '*' && this.method === 'OPTIONS')) {
        this.sendLocalReply(400, '', 'invalid_path');
        return false;
      }
      if (hcm.normalizePath || hcm.mergeSlashes || hcm.escapedSlashes !== 'KEEP_UNCHANGED') {
        const r = processPath(this.path, hcm.normalizePath, hcm.mergeSlashes, hcm.escapedSlashes);
        if (r.kind === 'reject') { this.sendLocalReply(400, '', 'path_normalization_failed'); return false; }
        if (r.kind === 'redirect') { this.sendRedirect(307, r.path); return false; }
        this.path = r.path;
      }
    }
    const q = this.path.indexOf('?');
    this.pathOnly = q < 0 ? this.path : this.path.slice(0, q);
    return true;
  }

  private mutateRequestHeaders(hcm: HcmConfig): void {
    const h = this.headers;
    // Upgrade and Connection are re-written by the upstream codec for upgrades (HTTP/1.1 only).
    stripHopByHop(h, false);
    removeHeader(h, 'expect'); // 100-continue is answered by the codec
    const remote = this.downstream.remoteAddress;
    let internal = isInternal(remote);
    if (hcm.useRemoteAddress) {
      if (!hcm.skipXffAppend) {
        const xff = getHeader(h, 'x-forwarded-for');
        if (xff !== undefined) setHeader(h, 'x-forwarded-for', `${xff},${remote}`);
        else h.push('x-forwarded-for', remote);
      }
      if (hcm.xffNumTrustedHops === 0 || getHeader(h, 'x-forwarded-proto') === undefined) setHeader(h, 'x-forwarded-proto', this.scheme);
      if (internal) setHeader(h, 'x-envoy-internal', 'true');
      else {
        removeHeader(h, 'x-envoy-internal');
        setHeader(h, 'x-envoy-external-address', remote);
      }
    } else {
      internal = false;
      if (getHeader(h, 'x-forwarded-proto') === undefined) h.push('x-forwarded-proto', this.scheme);
    }
    if (!internal) stripEnvoyInternalHeaders(h);
    this.forwardClientCert(hcm);
    if (hcm.generateRequestId) {
      let id = getHeader(h, 'x-request-id');
      if (id === undefined || (!internal && hcm.useRemoteAddress && !hcm.preserveExternalRequestId)) {
        id = randomUUID();
        setHeader(h, 'x-request-id', id);
      }
      this.requestId = id;
    }
  }

  /** x-forwarded-client-cert as forward_client_cert_details says (only mTLS connections add to it). */
  private forwardClientCert(hcm: HcmConfig): void {
    const h = this.headers;
    const mode = hcm.forwardClientCertDetails;
    const peer = this.downstream.peerCertificate;
    if (mode === 'ALWAYS_FORWARD_ONLY') return;
    if (mode === 'SANITIZE' || !peer) {
      if (mode !== 'FORWARD_ONLY' || !peer) removeHeader(h, 'x-forwarded-client-cert');
      return;
    }
    if (mode === 'FORWARD_ONLY') return;
    const d = hcm.clientCertDetails;
    let v = `Hash=${createHash('sha256').update(peer.raw).digest('hex')}`;
    if (d.cert) v += `;Cert="${encodeURIComponent(toPem(peer.raw))}"`;
    if (d.chain) v += `;Chain="${encodeURIComponent(toPem(peer.raw))}"`;
    if (d.subject) v += `;Subject="${peer.subject.replace(/"/g, '\\"')}"`;
    if (d.uri) for (const u of peer.uriSans) v += `;URI=${u}`;
    if (d.dns) for (const n of peer.dnsSans) v += `;DNS=${n}`;
    if (mode === 'APPEND_FORWARD') {
      const prev = getJoined(h, 'x-forwarded-client-cert');
      setHeader(h, 'x-forwarded-client-cert', prev ? `${prev},${v}` : v);
    } else setHeader(h, 'x-forwarded-client-cert', v);
  }

  // --- responses ---

  /** A response generated here (errors, direct responses), with Envoy's text/plain body. */
  sendLocalReply(status: number, body: string, details: string, extraHeaders?: HeaderList): void {
    this.responseCodeDetails = details;
    const headers: HeaderList = extraHeaders ? extraHeaders.slice() : [];
    let buf: Buffer | undefined;
    if (body) {
      buf = Buffer.from(body);
      // A caller that names the body's type (custom_response) keeps it.
      if (!extraHeaders || getHeader(extraHeaders, 'content-type') === undefined) headers.push('content-type', 'text/plain');
    }
    this.encodeLocal(status, headers, buf, details);
  }

  /** A reply a filter composed (Lua respond, Wasm send_local_response): these headers and body, as given. */
  sendResponse(status: number, headers: HeaderList, body: Buffer | undefined, details: string): void {
    const h = headers.slice();
    removeHeader(h, 'content-length');
    this.responseCodeDetails = details;
    this.encodeLocal(status, h, body, details);
  }

  private sendRedirect(status: number, location: string): void {
    this.encodeLocal(status, ['location', location], undefined, 'redirect');
  }

  private encodeLocal(status: number, headers: HeaderList, body: Buffer | undefined, details: string): void {
    if (this.responseStarted) {
      this.codec.resetStream(this);
      this.complete();
      return;
    }
    this.responseCodeDetails ||= details;
    this.router?.cancel();
    headers.push('content-length', String(body?.length ?? 0));
    const end = !body?.length || this.method === 'HEAD';
    this.localReply = true;
    if (this.encodeState === 1) {
      // Encoder filters hold a response: the reply goes straight out, as Envoy's does once
      // response headers exist, and whatever those filters still pass on is dropped.
      this.replaced = true;
      this.heldResponse = undefined;
      this.heldResponseTrailers = undefined;
      this.responseCode = status;
      this.responseHeaders = headers;
      this.responseEnd = end;
      this.sendResponseHeaders();
      if (!end) { this.bytesSent += body!.length; this.codec.encodeData(this, body!, true); this.onResponseComplete(); }
      return;
    }
    this.encodeHeaders(status, headers, end);
    if (!end) this.encodeData(body!, true);
  }

  /** Response headers from the upstream (via the router) or a local reply. */
  encodeHeaders(status: number, headers: HeaderList, endStream: boolean): void {
    if (this.done || this.encodeState !== 0) return;
    this.encodeState = 1;
    this.responseCode = status;
    this.responseHeaders = headers;
    this.responseEnd = endStream;
    const route = this.route;
    if (route) {
      this.clusterResponseHeaders?.apply(headers, this);
      route.responseHeaders?.apply(headers, this);
      route.virtualHost.responseHeaders?.apply(headers, this);
      route.virtualHost.table.responseHeaders?.apply(headers, this);
    }
    // Only filters whose request hook ran see the response.
    this.encodeIndex = Math.min(this.filterIndex, this.ctx.hcm.filters.length) - 1;
    this.runEncoderFilters();
  }

  /** Resumes the response after an encoder filter returned Stop. */
  continueEncoding(): void {
    if (this.done || this.encodeState !== 1 || this.replaced) return;
    this.runEncoderFilters();
  }

  private runEncoderFilters(): void {
    const filters = this.ctx.hcm.filters;
    while (this.encodeIndex >= 0) {
      const i = this.encodeIndex--;
      const f = filters[i]!;
      if (!f.encodeHeaders) continue;
      const pf = this.perFilterConfig(f.name);
      if (pf?.disabled || ((f as { disabledByDefault?: boolean }).disabledByDefault && !pf)) continue;
      const status = f.encodeHeaders(this, this.responseHeaders!);
      if (this.done || this.encodeState !== 1) return;
      if (this.heldResponse && this.dataFilters?.includes(f)) {
        this.replayHeldResponse(i + 1);
        if (this.done || this.encodeState !== 1) return;
      }
      if (status === FilterStatus.Stop) return;
    }
    if (this.encodeIndex !== -1) return;
    this.encodeIndex = -2;
    this.sendResponseHeaders();
    if (this.heldResponse && !this.done) this.replayHeldResponse(0);
  }

  private replayHeldResponse(from: number): void {
    const held = this.heldResponse!;
    const end = this.heldResponseEnd && !this.heldResponseTrailers;
    const trailers = this.heldResponseTrailers;
    this.heldResponse = undefined;
    this.heldResponseEnd = false;
    this.heldResponseTrailers = undefined;
    this.passEncodeData(from, held.length === 1 ? held[0]! : Buffer.concat(held), end);
    if (trailers && !this.done) this.passEncodeTrailers(from, trailers);
  }

  private sendResponseHeaders(): void {
    const hcm = this.ctx.hcm;
    const headers = this.responseHeaders!;
    const status = this.responseCode;
    this.encodeState = 2;
    this.responseStarted = true;
    if (hcm.serverHeaderTransformation === 'OVERWRITE') setHeader(headers, 'server', hcm.serverName);
    else if (hcm.serverHeaderTransformation === 'APPEND_IF_ABSENT' && getHeader(headers, 'server') === undefined) headers.push('server', hcm.serverName);
    if (getHeader(headers, 'date') === undefined) headers.push('date', httpDate());
    if (hcm.alwaysSetRequestIdInResponse && this.requestId) setHeader(headers, 'x-request-id', this.requestId);
    countStatus(hcm, status);
    this.codec.encodeHeaders(this, status, headers, this.responseEnd);
    if (this.responseEnd) this.onResponseComplete();
  }

  encodeData(chunk: Buffer, endStream: boolean): boolean {
    if (this.done || this.replaced) return true;
    if (!this.dataFilters && this.encodeState === 2) return this.sendData(chunk, endStream);
    return this.passEncodeData(this.ctx.hcm.filters.length, chunk, endStream);
  }

  /** Response body a filter held, passed on to the filters after it (towards the client). */
  injectEncodedData(f: HttpFilter, chunk: Buffer, endStream: boolean): void {
    if (this.done || this.replaced) return;
    this.passEncodeData(this.ctx.hcm.filters.indexOf(f), chunk, endStream);
  }

  /** Response trailers a filter held, passed on to the filters after it. */
  injectEncodedTrailers(f: HttpFilter, trailers: HeaderList): void {
    if (this.done || this.replaced) return;
    this.passEncodeTrailers(this.ctx.hcm.filters.indexOf(f), trailers);
  }

  /** Body through the enlisted filters before chain position `from` whose headers hook ran. */
  private passEncodeData(from: number, chunk: Buffer, endStream: boolean): boolean {
    const df = this.dataFilters;
    if (df) {
      const pos = this.dataFilterPos!;
      for (let i = df.length - 1; i >= 0; i--) {
        const p = pos[i]!;
        if (p >= from) continue;
        if (p <= this.encodeIndex) break;
        const f = df[i]!;
        if (!f.encodeData) continue;
        const out = f.encodeData(this, chunk, endStream);
        if (out === undefined || this.done || this.replaced) return true;
        chunk = out;
      }
    }
    if (!chunk.length && !endStream) return true;
    if (this.encodeState !== 2) {
      const held = (this.heldResponse ??= []);
      if (chunk.length) held.push(chunk);
      if (endStream) this.heldResponseEnd = true;
      return true;
    }
    return this.sendData(chunk, endStream);
  }

  private sendData(chunk: Buffer, endStream: boolean): boolean {
    this.bytesSent += chunk.length;
    if (this.idleTimer) this.idleTimer.refresh();
    const ok = this.codec.encodeData(this, chunk, endStream);
    if (endStream) this.onResponseComplete();
    return ok;
  }

  encodeTrailers(trailers: HeaderList): void {
    if (this.done || this.replaced) return;
    this.responseTrailers = trailers;
    this.passEncodeTrailers(this.ctx.hcm.filters.length, trailers);
  }

  private passEncodeTrailers(from: number, trailers: HeaderList): void {
    const df = this.dataFilters;
    if (df) {
      const pos = this.dataFilterPos!;
      for (let i = df.length - 1; i >= 0; i--) {
        const p = pos[i]!;
        if (p >= from) continue;
        if (p <= this.encodeIndex) break;
        const r = df[i]!.encodeTrailers?.(this, trailers);
        if (this.done || this.replaced) return;
        if (r === FilterStatus.Stop) return;
        // The filter carries the trailers in the body (gRPC-Web): later filters see data.
        if (r !== undefined && r !== FilterStatus.Continue) { this.passEncodeData(p, r, true); return; }
      }
    }
    if (this.encodeState !== 2) {
      this.heldResponse ??= [];
      this.heldResponseEnd = true;
      this.heldResponseTrailers = trailers;
      return;
    }
    this.codec.encodeTrailers(this, trailers);
    this.onResponseComplete();
  }

  private onResponseComplete(): void {
    this.responseComplete = true;
    this.complete();
  }

  /** The exchange is over (response sent, or reset): stats, access logs, timers. */
  complete(): void {
    if (this.done) return;
    this.done = true;
    this.endTime = Date.now();
    const hcm = this.ctx.hcm;
    hcm.stats.downstream_rq_active.value--;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.router?.onStreamComplete();
    const cw = this.completionWatchers;
    if (cw) for (let i = 0; i < cw.length; i++) cw[i]!.onStreamComplete!(this);
    this.codec.streamDone?.(this);
    const logs = hcm.accessLogs;
    for (let i = 0; i < logs.length; i++) logs[i]!.log(this);
  }

  private armIdleTimer(ms: number): void {
    this.idleTimer = setTimeout(onIdleTimeout, ms, this);
  }

  onIdle(): void {
    if (this.done) return;
    this.ctx.hcm.stats.downstream_rq_idle_timeout.value++;
    this.router?.cancel();
    if (!this.responseStarted) this.sendLocalReply(408, 'stream timeout', 'stream_idle_timeout');
    else { this.codec.resetStream(this); this.complete(); }
  }
}

function onIdleTimeout(s: HttpStream): void {
  s.onIdle();
}

function countStatus(hcm: HcmConfig, status: number): void {
  const s = hcm.stats;
  if (status < 200) s.downstream_rq_1xx.value++;
  else if (status < 300) s.downstream_rq_2xx.value++;
  else if (status < 400) s.downstream_rq_3xx.value++;
  else if (status < 500) s.downstream_rq_4xx.value++;
  else s.downstream_rq_5xx.value++;
}

let cachedDate = '';
let cachedSecond = 0;
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== cachedSecond) { cachedSecond = sec; cachedDate = new Date(now).toUTCString(); }
  return cachedDate;
}

/** Headers only a trusted (internal) hop may set; Envoy strips them from external requests. */
const ENVOY_INTERNAL = ['x-envoy-retry-on', 'x-envoy-retry-grpc-on', 'x-envoy-max-retries', 'x-envoy-upstream-alt-stat-name',
  'x-envoy-upstream-rq-timeout-ms', 'x-envoy-upstream-rq-per-try-timeout-ms', 'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms', 'x-envoy-ip-tags', 'x-envoy-original-url', 'x-envoy-hedge-on-per-try-timeout', 'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names', 'x-envoy-decorator-operation', 'x-envoy-downstream-service-cluster', 'x-envoy-downstream-service-node'];

function stripEnvoyInternalHeaders(h: HeaderList): void {
  for (let i = 0; i < h.length; i += 2) {
    if (h[i]!.startsWith('x-envoy-') && h[i] !== 'x-envoy-external-address' && ENVOY_INTERNAL.includes(h[i]!)) { h.splice(i, 2); i -= 2; }
  }
}

/** RFC 1918, loopback, link-local and unique-local addresses count as internal, as in Envoy. */
export function isInternal(addr: string): boolean {
  if (addr.startsWith('::ffff:')) addr = addr.slice(7);
  if (addr.startsWith('127.') || addr.startsWith('10.') || addr.startsWith('192.168.') || addr === '::1') return true;
  if (addr.startsWith('172.')) { const b = Number(addr.split('.')[1]); return b >= 16 && b <= 31; }
  const lower = addr.toLowerCase();
  return lower.startsWith('fd') || lower.startsWith('fc');
}

/** The Location of a redirect route, as Envoy builds it from the request and the action. */
export function redirectLocation(s: HttpStream, a: import('../router/route_action.js').RedirectAction): string {
  const reqProto = getHeader(s.headers, 'x-forwarded-proto') ?? s.scheme;
  const scheme = a.scheme ?? reqProto;
  let host: string;
  if (a.host) host = a.host;
  else {
    host = s.authority;
    const colon = host.startsWith('[') ? host.indexOf(']:') + 1 : host.lastIndexOf(':');
    if (colon > 0) {
      const port = host.slice(colon);
      let removePort = a.port !== undefined;
      if (scheme !== reqProto) removePort ||= (reqProto === 'https' && port === ':443') || (reqProto === 'http' && port === ':80');
      if (removePort) host = host.slice(0, colon);
    }
  }
  if (a.port !== undefined) {
    const colon = host.startsWith('[') ? host.indexOf(']:') + 1 : host.lastIndexOf(':');
    if (colon > 0 && !(host.startsWith('[') && colon === 0)) host = host.slice(0, colon);
    host = `${host}:${a.port}`;
  }
  const q = s.path.indexOf('?');
  const pathOnly = q < 0 ? s.path : s.path.slice(0, q);
  let query = q < 0 ? '' : s.path.slice(q);
  let path = pathOnly;
  if (a.path !== undefined) {
    if (a.path.includes('?')) { path = a.path; query = ''; } else path = a.path;
  } else if (a.prefixRewrite !== undefined) {
    const m = s.route!.match;
    if (m.pathKind === 'prefix' || m.pathKind === 'separated') {
      path = a.prefixRewrite + pathOnly.slice(m.pathLiteral.length);
    } else path = a.prefixRewrite;
  } else if (a.regexRewrite) {
    path = a.regexRewrite.re.replaceAll(pathOnly, a.regexRewrite.substitution);
  }
  if (a.stripQuery) query = '';
  return `${scheme}://${host}${path}${query}`;
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}
