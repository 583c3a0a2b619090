// envoy.filters.http.ext_proc: an external processor sees, and may change, each request and
// response. Per HTTP stream the filter opens one bidirectional gRPC stream
// (envoy.service.ext_proc.v3.ExternalProcessor/Process) on the configured cluster, when it first
// has something to send, and then, as the processing mode says:
// - headers (SEND): sends them and holds them until the processor answers with a header mutation;
// - bodies: STREAMED sends each chunk and passes on what comes back, chunk for chunk; BUFFERED
//   holds the whole body (and the headers) and sends it once; BUFFERED_PARTIAL sends what fits
//   in the buffer limit and lets the rest through; FULL_DUPLEX_STREAMED sends chunks as they
//   come and forwards whatever body chunks the processor streams back;
// - trailers (SEND): sends them and applies the mutation that comes back.
// An immediate response answers the client instead. A processor that closes the stream cleanly
// ends processing (the rest flows unchanged); a gRPC error or a message timeout fails the request
// (status_on_error, 500 by default; 504 for a timeout) unless failure_mode_allow, in which case
// whatever was held goes on unchanged. In observability mode messages are sent and not waited for.
// Envoy Gateway installs the filter disabled and enables it per route.
import { durationMs } from '../../config/json.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { GrpcStream, type GrpcService, type GrpcStreamHandler } from '../grpc_client.js';
import { getHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats, httpStatusCode } from './auth_common.js';
import { evaluateAttributes, type AttributeSet } from './ext_proc_attributes.js';
import { compileExtProc, compileExtProcPerRoute, compileProcessingMode, type BodySendMode, type ExtProcConfig, type ExtProcPerRoute,
  type HeaderSendMode, type MetadataOptions } from './ext_proc_config.js';
import { applyHeaderMutation, requestHeaderMap, responseHeaderMap, trailerMap, type HeaderMutationJson, type MutationOutcome } from './ext_proc_mutation.js';

const METHOD = '/envoy.service.ext_proc.v3.ExternalProcessor/Process';
const REQUEST_TYPE = 'envoy.service.ext_proc.v3.ProcessingRequest';
const RESPONSE_TYPE = 'envoy.service.ext_proc.v3.ProcessingResponse';
const NAMESPACE = 'envoy.filters.http.ext_proc';

const STATS = ['streams_started', 'stream_msgs_sent', 'stream_msgs_received', 'spurious_msgs_received', 'streams_closed', 'streams_failed',
  'failure_mode_allowed', 'message_timeouts', 'rejected_header_mutations', 'override_message_timeout_received', 'override_message_timeout_ignored',
  'clear_route_cache_ignored'] as const;

interface CommonResponseJson {
  status?: string;
  headerMutation?: HeaderMutationJson;
  bodyMutation?: { body?: string; clearBody?: boolean; streamedResponse?: { body?: string; endOfStream?: boolean } };
  clearRouteCache?: boolean;
}

interface ProcessingResponseJson {
  requestHeaders?: { response?: CommonResponseJson };
  responseHeaders?: { response?: CommonResponseJson };
  requestBody?: { response?: CommonResponseJson };
  responseBody?: { response?: CommonResponseJson };
  requestTrailers?: { headerMutation?: HeaderMutationJson };
  responseTrailers?: { headerMutation?: HeaderMutationJson };
  immediateResponse?: { status?: { code?: string | number }; headers?: HeaderMutationJson; body?: string; grpcStatus?: { status?: number }; details?: string };
  dynamicMetadata?: Record<string, unknown>;
  modeOverride?: Record<string, unknown>;
  overrideMessageTimeout?: string;
}

type Phase = 'headers' | 'body' | 'trailers';
interface Chunk { data: Buffer; end: boolean }

/** One direction (request or response) of one stream. */
class Direction {
  headerMode: HeaderSendMode;
  bodyMode: BodySendMode;
  trailerMode: HeaderSendMode;
  /** Responses the processor owes, in order. */
  readonly expects: Phase[] = [];
  /** The headers wait for the processor (or for a buffered body). */
  headersHeld = false;
  /** Body held here, in arrival order; the first `sent` chunks went to the processor. */
  readonly queue: Chunk[] = [];
  sent = 0;
  size = 0;
  /** Trailers held until the body before them is processed (or their own answer arrives). */
  trailers: HeaderList | undefined;
  /** Nothing more goes to the processor in this direction (CONTINUE_AND_REPLACE, partial body done). */
  finished = false;
  /** The original body is dropped (a replacement was sent on). */
  dropBody = false;
  /** The body ended (end of stream or trailers) as it arrived here. */
  ended = false;
  attributesSent = false;
  timer: NodeJS.Timeout | undefined;

  constructor(readonly request: boolean, headerMode: HeaderSendMode, bodyMode: BodySendMode, trailerMode: HeaderSendMode) {
    this.headerMode = headerMode;
    this.bodyMode = bodyMode;
    this.trailerMode = trailerMode;
  }
}

/** The processing of one HTTP stream. */
class Exchange implements GrpcStreamHandler {
  grpc: GrpcStream | undefined;
  /** Processing is over (clean close, immediate response, error): everything flows unchanged. */
  complete = false;
  /** Headers for the immediate response, applied again as it goes out. */
  immediateHeaders: HeaderMutationJson | undefined;
  readonly req: Direction;
  readonly res: Direction;

  constructor(readonly f: ExtProcFilter, readonly s: HttpStream, readonly cfg: ExtProcConfig, readonly grpcService: GrpcService,
    readonly requestAttributes: AttributeSet | undefined, readonly responseAttributes: AttributeSet | undefined, readonly metadata: MetadataOptions,
    mode: ExtProcConfig['mode']) {
    this.req = new Direction(true, mode.requestHeaders, mode.requestBody, mode.requestTrailers);
    this.res = new Direction(false, mode.responseHeaders, mode.responseBody, mode.responseTrailers);
  }

  get stats() { return this.f.stats.of(this.s); }

  // --- sending ---

  private send(d: Direction, kind: string, payload: unknown, expect: Phase | undefined): void {
    if (this.complete) return;
    if (!this.grpc) {
      this.grpc = GrpcStream.open(this.s.ctx.clusters, this.grpcService, METHOD, REQUEST_TYPE, RESPONSE_TYPE, this);
      this.stats.streams_started.value++;
    }
    const msg: Record<string, unknown> = { [kind]: payload };
    if (!d.attributesSent) {
      d.attributesSent = true;
      const set = d.request ? this.requestAttributes : this.responseAttributes;
      if (set) msg.attributes = { [NAMESPACE]: evaluateAttributes(set, this.s) };
    }
    const md = this.metadataContext();
    if (md) msg.metadataContext = md;
    if (this.cfg.observabilityMode) msg.observabilityMode = true;
    if (!this.grpc.send(msg)) return;
    this.stats.stream_msgs_sent.value++;
    if (expect && !this.cfg.observabilityMode) {
      d.expects.push(expect);
      if (d.expects.length === 1) this.arm(d, this.cfg.messageTimeoutMs);
    }
  }

  private metadataContext(): unknown {
    const ns = this.metadata.forwarding;
    if (!ns.length || !this.s.dynamicMetadata) return undefined;
    const fm: Record<string, unknown> = {};
    for (const n of ns) if (this.s.dynamicMetadata[n]) fm[n] = this.s.dynamicMetadata[n];
    return Object.keys(fm).length ? { filterMetadata: fm } : undefined;
  }

  private arm(d: Direction, ms: number): void {
    if (d.timer) clearTimeout(d.timer);
    d.timer = ms > 0 ? setTimeout(() => this.onTimeout(), ms) : undefined;
  }

  private disarm(d: Direction): void {
    if (d.timer) { clearTimeout(d.timer); d.timer = undefined; }
  }

  sendHeaders(d: Direction): void {
    const s = this.s;
    if (d.request) this.send(d, 'requestHeaders', { headers: requestHeaderMap(this.cfg, s), endOfStream: s.headersOnly }, 'headers');
    else this.send(d, 'responseHeaders', { headers: responseHeaderMap(this.cfg, s), endOfStream: s.responseEnd }, 'headers');
  }

  private sendBody(d: Direction, data: Buffer, end: boolean, expect: boolean): void {
    this.send(d, d.request ? 'requestBody' : 'responseBody', { body: data.toString('base64'), endOfStream: end }, expect ? 'body' : undefined);
  }

  private sendTrailers(d: Direction, t: HeaderList): void {
    this.send(d, d.request ? 'requestTrailers' : 'responseTrailers', { trailers: trailerMap(this.cfg, t) }, 'trailers');
  }

  // --- what arrives from downstream / upstream ---

  /** A body chunk in direction d; returns what passes on now (undefined: held here). */
  onData(d: Direction, data: Buffer, end: boolean): Buffer | undefined {
    if (end) d.ended = true;
    if (this.complete) return data;
    if (d.dropBody) return undefined;
    if (this.cfg.observabilityMode) {
      if (!d.finished && d.bodyMode !== 'NONE') this.sendBody(d, data, end, false);
      return data;
    }
    if (d.finished || d.bodyMode === 'NONE') {
      // Body behind a message still being processed keeps its place in line.
      if (!d.queue.length && !d.expects.includes('body')) return data;
      d.queue.push({ data, end });
      return undefined;
    }
    const waitingHeaders = d.expects[0] === 'headers';
    switch (d.bodyMode) {
      case 'STREAMED':
        d.queue.push({ data, end });
        if (!waitingHeaders) this.flushStreamed(d);
        return undefined;
      case 'FULL_DUPLEX_STREAMED':
        this.sendBody(d, data, end, false);
        return undefined;
      case 'BUFFERED':
      case 'BUFFERED_PARTIAL': {
        d.queue.push({ data, end });
        // Sent already (a partial body): the rest waits for the answer, then flows unchanged.
        if (d.sent > 0) return undefined;
        d.size += data.length;
        const limit = this.s.ctx.bufferLimit;
        if (d.bodyMode === 'BUFFERED' && d.size > limit) {
          this.fail(d.request ? 413 : 500, d.request ? 'request_payload_too_large' : 'response_payload_too_large');
          return undefined;
        }
        if (!waitingHeaders && (end || (d.bodyMode === 'BUFFERED_PARTIAL' && d.size >= limit))) this.sendBuffered(d);
        return undefined;
      }
    }
    return data;
  }

  /** Trailers in direction d: Stop holds them. */
  onTrailers(d: Direction, t: HeaderList): FilterStatus {
    d.ended = true;
    if (this.complete) return FilterStatus.Continue;
    if (this.cfg.observabilityMode) {
      if (d.trailerMode === 'SEND') this.sendTrailers(d, t);
      return FilterStatus.Continue;
    }
    const waitingHeaders = d.expects[0] === 'headers';
    // A buffered body is complete once trailers arrive.
    if (!d.finished && (d.bodyMode === 'BUFFERED' || d.bodyMode === 'BUFFERED_PARTIAL') && d.sent === 0 && d.queue.length && !waitingHeaders) this.sendBuffered(d);
    if (d.trailerMode === 'SEND' && !d.finished) {
      d.trailers = t;
      if (!waitingHeaders) this.sendTrailers(d, t);
      return FilterStatus.Stop;
    }
    if (d.queue.length || d.expects.length) { d.trailers = t; return FilterStatus.Stop; }
    return FilterStatus.Continue;
  }

  private flushStreamed(d: Direction): void {
    while (d.sent < d.queue.length) {
      const c = d.queue[d.sent++]!;
      this.sendBody(d, c.data, c.end, true);
      if (this.complete) return;
    }
  }

  private sendBuffered(d: Direction): void {
    if (!d.queue.length && !d.ended) return;
    d.sent = d.queue.length;
    const body = d.queue.length === 1 ? d.queue[0]!.data : Buffer.concat(d.queue.map((c) => c.data));
    const end = d.queue.length ? d.queue[d.queue.length - 1]!.end : true;
    this.sendBody(d, body, end, true);
  }

  /** After a headers answer (or with headers skipped): what the body mode does next. */
  private afterHeaders(d: Direction): void {
    const headersOnly = d.request ? this.s.headersOnly : this.s.responseEnd;
    if (!d.finished && !headersOnly) {
      if (d.bodyMode === 'BUFFERED' || d.bodyMode === 'BUFFERED_PARTIAL') {
        const full = d.ended || (d.bodyMode === 'BUFFERED_PARTIAL' && d.size >= this.s.ctx.bufferLimit);
        if (full) this.sendBuffered(d);
        if (d.trailers && d.trailerMode === 'SEND') this.sendTrailers(d, d.trailers);
        // The headers wait for the body's answer (a body answer may still change them).
        return;
      }
      if (d.bodyMode === 'STREAMED') this.flushStreamed(d);
    }
    if (d.trailers && d.trailerMode === 'SEND' && !d.finished && !d.expects.includes('trailers')) this.sendTrailers(d, d.trailers);
    this.resume(d);
  }

  /** Lets held headers go on. */
  private resume(d: Direction): void {
    if (!d.headersHeld) return;
    d.headersHeld = false;
    if (d.request) this.s.continueDecoding(); else this.s.continueEncoding();
  }

  private inject(d: Direction, data: Buffer, end: boolean): void {
    if (d.request) this.s.injectDecodedData(this.f, data, end);
    else this.s.injectEncodedData(this.f, data, end);
  }

  private injectTrailers(d: Direction): void {
    const t = d.trailers;
    if (!t) return;
    d.trailers = undefined;
    if (d.request) this.s.injectDecodedTrailers(this.f, t);
    else this.s.injectEncodedTrailers(this.f, t);
  }

  /** Passes on held body chunks that were never sent (and trailers when nothing else is owed). */
  private drain(d: Direction): void {
    while (d.queue.length > d.sent) {
      if (d.sent > 0) break;
      const c = d.queue.shift()!;
      this.inject(d, c.data, c.end && !d.trailers);
      if (this.s.done) return;
    }
    if (!d.expects.length && !d.queue.length && d.trailers) this.injectTrailers(d);
  }

  /** Everything held goes on unchanged (processing over without a failure of the request). */
  private release(d: Direction): void {
    this.disarm(d);
    d.expects.length = 0;
    const held = d.queue.splice(0);
    d.sent = 0;
    if (!d.dropBody) for (const c of held) { this.inject(d, c.data, c.end && !d.trailers); if (this.s.done) return; }
    this.injectTrailers(d);
    if (this.s.done) return;
    this.resume(d);
  }

  // --- what the processor says ---

  onMessage(m: Record<string, unknown>): void {
    if (this.complete || this.s.done) return;
    const stats = this.stats;
    stats.stream_msgs_received.value++;
    if (this.cfg.observabilityMode) return;
    const msg = m as ProcessingResponseJson;
    if (msg.overrideMessageTimeout !== undefined) { this.overrideTimeout(msg.overrideMessageTimeout); return; }
    if (msg.immediateResponse) { this.immediate(msg.immediateResponse); return; }
    let d: Direction;
    let phase: Phase;
    if (msg.requestHeaders) { d = this.req; phase = 'headers'; }
    else if (msg.responseHeaders) { d = this.res; phase = 'headers'; }
    else if (msg.requestBody) { d = this.req; phase = 'body'; }
    else if (msg.responseBody) { d = this.res; phase = 'body'; }
    else if (msg.requestTrailers) { d = this.req; phase = 'trailers'; }
    else if (msg.responseTrailers) { d = this.res; phase = 'trailers'; }
    else { this.spurious(); return; }
    const duplexBody = phase === 'body' && d.bodyMode === 'FULL_DUPLEX_STREAMED';
    if (!duplexBody) {
      if (d.expects[0] !== phase) { this.spurious(); return; }
      d.expects.shift();
      if (d.expects.length) this.arm(d, this.cfg.messageTimeoutMs); else this.disarm(d);
    }
    this.receiveMetadata(msg.dynamicMetadata);
    if (phase === 'headers' && msg.modeOverride && this.f.cfg.allowModeOverride) this.overrideMode(d, msg.modeOverride);
    const out: MutationOutcome = { rejected: 0, error: false };
    if (phase === 'headers') this.onHeadersAnswer(d, (d.request ? msg.requestHeaders : msg.responseHeaders)!.response ?? {}, out);
    else if (phase === 'body') this.onBodyAnswer(d, (d.request ? msg.requestBody : msg.responseBody)!.response ?? {}, out);
    else this.onTrailersAnswer(d, (d.request ? msg.requestTrailers : msg.responseTrailers)!.headerMutation, out);
    if (out.rejected) stats.rejected_header_mutations.value += out.rejected;
  }

  private mutationFailed(out: MutationOutcome): boolean {
    if (!out.error) return false;
    this.error('ext_proc_error_header_mutation_rejected', false);
    return true;
  }

  private onHeadersAnswer(d: Direction, r: CommonResponseJson, out: MutationOutcome): void {
    const s = this.s;
    applyHeaderMutation(this.cfg.rules, r.headerMutation, d.request ? { kind: 'request', s } : { kind: 'response', s }, out);
    if (this.mutationFailed(out)) return;
    if (d.request) this.clearRouteCache(r.clearRouteCache === true);
    if (r.status === 'CONTINUE_AND_REPLACE') {
      // The answer replaces the body: what the client (or upstream) sends is dropped.
      const body = r.bodyMutation?.body ? Buffer.from(r.bodyMutation.body, 'base64') : Buffer.alloc(0);
      d.finished = true;
      d.dropBody = true;
      d.queue.length = 0;
      d.sent = 0;
      d.trailers = undefined;
      this.setLength(d, body.length);
      const hadBody = d.request ? !s.headersOnly : !s.responseEnd;
      if (d.request) s.headersOnly = body.length === 0; else s.responseEnd = body.length === 0;
      // The replacement ends the message (an empty one ends a body that was coming).
      if (body.length || (hadBody && d.request)) this.inject(d, body, true);
      this.resume(d);
      return;
    }
    this.afterHeaders(d);
  }

  private onBodyAnswer(d: Direction, r: CommonResponseJson, out: MutationOutcome): void {
    const s = this.s;
    if (d.bodyMode === 'FULL_DUPLEX_STREAMED') {
      const sr = r.bodyMutation?.streamedResponse;
      if (!sr) return;
      const data = sr.body ? Buffer.from(sr.body, 'base64') : Buffer.alloc(0);
      const end = sr.endOfStream === true;
      // The processor now owns the body's end: the headers go on with the first chunk back.
      if (d.headersHeld && !d.expects.includes('headers')) this.resume(d);
      if (data.length || end) this.inject(d, data, end && !d.trailers);
      return;
    }
    const buffered = d.bodyMode === 'BUFFERED' || d.bodyMode === 'BUFFERED_PARTIAL';
    // Header mutations in a body answer count only while the headers are still held.
    if (buffered && d.headersHeld) {
      applyHeaderMutation(this.cfg.rules, r.headerMutation, d.request ? { kind: 'request', s } : { kind: 'response', s }, out);
      if (this.mutationFailed(out)) return;
      if (d.request) this.clearRouteCache(r.clearRouteCache === true);
    }
    const taken = d.bodyMode === 'STREAMED' ? d.queue.splice(0, 1) : d.queue.splice(0, d.sent);
    d.sent = d.bodyMode === 'STREAMED' ? Math.max(0, d.sent - 1) : 0;
    if (!taken.length) { this.spurious(); return; }
    const original = taken.length === 1 ? taken[0]!.data : Buffer.concat(taken.map((c) => c.data));
    const end = taken[taken.length - 1]!.end;
    const bm = r.bodyMutation;
    const body = bm?.body !== undefined ? Buffer.from(bm.body, 'base64') : bm?.clearBody ? Buffer.alloc(0) : original;
    // No more messages this way; the rest of the body flows as it comes.
    if (r.status === 'CONTINUE_AND_REPLACE') d.finished = true;
    if (buffered) {
      if (body !== original && d.headersHeld) this.setLength(d, body.length);
      // Once a partial body is answered, the rest of the body flows without the processor.
      d.finished = true;
    }
    this.inject(d, body, end && !d.trailers);
    if (s.done) return;
    if (buffered) {
      this.resume(d);
      if (s.done) return;
    }
    this.drain(d);
  }

  private onTrailersAnswer(d: Direction, m: HeaderMutationJson | undefined, out: MutationOutcome): void {
    if (d.trailers) {
      applyHeaderMutation(this.cfg.rules, m, { kind: 'trailers', list: d.trailers }, out);
      if (this.mutationFailed(out)) return;
    }
    if (!d.queue.length) this.injectTrailers(d);
  }

  /** A body replaced while its headers are held: content-length follows the new body. */
  private setLength(d: Direction, length: number): void {
    const s = this.s;
    if (d.request) {
      if (getHeader(s.headers, 'content-length') !== undefined || length > 0) setHeader(s.headers, 'content-length', String(length));
      s.bodyLength = length;
    } else if (s.responseHeaders && (getHeader(s.responseHeaders, 'content-length') !== undefined || length > 0)) {
      setHeader(s.responseHeaders, 'content-length', String(length));
    }
  }

  private clearRouteCache(asked: boolean): void {
    const action = this.cfg.routeCacheAction;
    if (action === 'RETAIN') { if (asked) this.stats.clear_route_cache_ignored.value++; return; }
    if (action === 'DEFAULT' && !asked) return;
    const s = this.s;
    const table = s.hcm.routes.table;
    s.route = table ? table.route(s) : undefined;
    s.routeName = s.route?.name ?? '';
  }

  private overrideMode(d: Direction, m: Record<string, unknown>): void {
    let mode;
    try { mode = compileProcessingMode(m, 'modeOverride'); } catch { return; }
    if (d.request) {
      this.req.bodyMode = mode.requestBody;
      this.req.trailerMode = mode.requestTrailers;
    }
    const r = this.res;
    if (d.request) r.headerMode = mode.responseHeaders;
    r.bodyMode = mode.responseBody;
    r.trailerMode = mode.responseTrailers;
  }

  private overrideTimeout(v: string): void {
    const stats = this.stats;
    stats.override_message_timeout_received.value++;
    const max = this.cfg.maxMessageTimeoutMs;
    let ms: number | undefined;
    try { ms = durationMs({ v }, 'v', ''); } catch { ms = undefined; }
    const d = this.req.expects.length ? this.req : this.res.expects.length ? this.res : undefined;
    if (!max || ms === undefined || ms < 1 || ms > max || !d) { stats.override_message_timeout_ignored.value++; return; }
    this.arm(d, ms);
  }

  private receiveMetadata(md: Record<string, unknown> | undefined): void {
    if (!md) return;
    const allowed = this.metadata.receiving;
    for (const [ns, v] of Object.entries(md)) {
      if (!allowed.has(ns) || !v || typeof v !== 'object') continue;
      const into = ((this.s.dynamicMetadata ??= {})[ns] ??= {});
      Object.assign(into, v);
    }
  }

  private immediate(ir: NonNullable<ProcessingResponseJson['immediateResponse']>): void {
    if (this.cfg.disableImmediateResponse) { this.spurious(); return; }
    const s = this.s;
    this.finish();
    const status = httpStatusCode(ir.status?.code) ?? 500;
    const body = ir.body ? Buffer.from(ir.body, 'base64').toString('utf8') : '';
    const headers: HeaderList = [];
    const out: MutationOutcome = { rejected: 0, error: false };
    applyHeaderMutation(this.cfg.rules, ir.headers, { kind: 'trailers', list: headers }, out);
    if (ir.grpcStatus && getHeader(s.headers, 'content-type')?.startsWith('application/grpc')) {
      setHeader(headers, 'grpc-status', String(ir.grpcStatus.status ?? 0));
      if (body) setHeader(headers, 'grpc-message', encodeURIComponent(body));
    }
    this.immediateHeaders = ir.headers;
    s.sendLocalReply(status, body, ir.details || 'ext_proc_immediate_response', headers);
  }

  /** The local reply of an immediate response passes this filter: its own headers win. */
  applyImmediateHeaders(h: HeaderList): void {
    const m = this.immediateHeaders;
    if (!m) return;
    this.immediateHeaders = undefined;
    // Only set headers are re-applied (removals already happened on the reply's own list).
    applyHeaderMutation(this.cfg.rules, { setHeaders: m.setHeaders }, { kind: 'trailers', list: h }, { rejected: 0, error: false });
  }

  private spurious(): void {
    this.stats.spurious_msgs_received.value++;
    this.error('ext_proc_error_spurious_message', false);
  }

  private onTimeout(): void {
    if (this.complete) return;
    this.stats.message_timeouts.value++;
    this.error('ext_proc_error_per-message_timeout_exceeded', true);
  }

  /** The gRPC call ended: cleanly (processing is over) or with an error. */
  onClose(status: number | undefined, detail: string): void {
    if (this.complete) return;
    this.grpc = undefined;
    if (status === 0) {
      this.stats.streams_closed.value++;
      this.complete = true;
      this.release(this.req);
      if (!this.s.done) this.release(this.res);
      return;
    }
    this.stats.streams_failed.value++;
    this.error(`ext_proc_error_gRPC_error_${status ?? 14}${detail ? `{${detail.replace(/\s+/g, '_')}}` : ''}`, false);
  }

  /** Processing failed: fail open (failure_mode_allow) or answer with an error. */
  private error(details: string, timeout: boolean): void {
    if (this.complete) return;
    const s = this.s;
    this.finish();
    const duplex = this.req.bodyMode === 'FULL_DUPLEX_STREAMED' || this.res.bodyMode === 'FULL_DUPLEX_STREAMED';
    if (this.cfg.failureModeAllow && !duplex) {
      this.stats.failure_mode_allowed.value++;
      this.release(this.req);
      if (!s.done) this.release(this.res);
      return;
    }
    s.sendLocalReply(timeout ? 504 : this.cfg.statusOnError, '', details);
  }

  private fail(status: number, details: string): void {
    this.finish();
    this.s.sendLocalReply(status, '', details);
  }

  /** Ends processing: no more messages either way; the gRPC stream is closed. */
  private finish(): void {
    this.complete = true;
    this.disarm(this.req);
    this.disarm(this.res);
    const g = this.grpc;
    this.grpc = undefined;
    g?.cancel();
  }

  /** The HTTP stream is over. */
  close(): void {
    this.disarm(this.req);
    this.disarm(this.res);
    const g = this.grpc;
    this.grpc = undefined;
    if (!g) return;
    g.end();
    // In observability mode the processor may still be reading what was sent.
    if (this.cfg.observabilityMode && this.cfg.deferredCloseMs > 0) setTimeout(() => g.cancel(), this.cfg.deferredCloseMs).unref();
    else g.cancel();
  }
}

class ExtProcFilter implements HttpFilter {
  readonly stats: FilterStats<(typeof STATS)[number]>;
  /** Whether any mode (or a processor's override) can involve bodies or trailers. */
  private readonly dataHooks: boolean;

  constructor(readonly name: string, readonly cfg: ExtProcConfig) {
    this.stats = new FilterStats(`ext_proc.${cfg.statPrefix ? `${cfg.statPrefix}.` : ''}`, STATS);
    const m = cfg.mode;
    this.dataHooks = cfg.allowModeOverride || m.requestBody !== 'NONE' || m.responseBody !== 'NONE' || m.requestTrailers === 'SEND' || m.responseTrailers === 'SEND';
  }

  private exchange(s: HttpStream): Exchange | undefined {
    return s.filterState?.get(this) as Exchange | undefined;
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const pf = s.perFilterConfig(this.name);
    const route = pf?.config as ExtProcPerRoute | undefined;
    if (route?.disabled) return FilterStatus.Continue;
    const cfg = this.cfg;
    let grpc = route?.grpc ?? cfg.grpc;
    if (route?.initialMetadata) grpc = { ...grpc, initialMetadata: [...grpc.initialMetadata, ...route.initialMetadata] };
    // Per-message timeouts govern the exchange; the call itself has no deadline.
    if (grpc.timeoutMs) grpc = { ...grpc, timeoutMs: 0 };
    const mode = route?.mode ?? cfg.mode;
    const x = new Exchange(this, s, cfg, grpc,
      route && 'requestAttributes' in route ? route.requestAttributes : cfg.requestAttributes,
      route && 'responseAttributes' in route ? route.responseAttributes : cfg.responseAttributes,
      route?.metadata ?? cfg.metadata, mode);
    (s.filterState ??= new Map()).set(this, x);
    s.watchCompletion(this);
    if (this.dataHooks || (route?.mode && (mode.requestBody !== 'NONE' || mode.responseBody !== 'NONE' || mode.requestTrailers === 'SEND' || mode.responseTrailers === 'SEND'))) {
      s.addDataFilter(this);
    }
    const d = x.req;
    if (d.headerMode === 'SEND') {
      x.sendHeaders(d);
      if (cfg.observabilityMode || x.complete) return FilterStatus.Continue;
      d.headersHeld = true;
      return FilterStatus.Stop;
    }
    // Headers skipped: a buffered body still holds them, so that its answer may change them.
    if ((d.bodyMode === 'BUFFERED' || d.bodyMode === 'BUFFERED_PARTIAL') && !s.headersOnly && !cfg.observabilityMode) {
      d.headersHeld = true;
      return FilterStatus.Stop;
    }
    return FilterStatus.Continue;
  }

  decodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const x = this.exchange(s);
    return x ? x.onData(x.req, chunk, end) : chunk;
  }

  decodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const x = this.exchange(s);
    return x ? x.onTrailers(x.req, trailers) : FilterStatus.Continue;
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): FilterStatus {
    const x = this.exchange(s);
    if (!x) return FilterStatus.Continue;
    if (x.immediateHeaders) { x.applyImmediateHeaders(headers); return FilterStatus.Continue; }
    if (x.complete) return FilterStatus.Continue;
    const d = x.res;
    if (d.headerMode === 'SEND') {
      x.sendHeaders(d);
      if (this.cfg.observabilityMode || x.complete) return FilterStatus.Continue;
      d.headersHeld = true;
      return FilterStatus.Stop;
    }
    if ((d.bodyMode === 'BUFFERED' || d.bodyMode === 'BUFFERED_PARTIAL') && !s.responseEnd && !this.cfg.observabilityMode) {
      d.headersHeld = true;
      return FilterStatus.Stop;
    }
    return FilterStatus.Continue;
  }

  encodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const x = this.exchange(s);
    return x ? x.onData(x.res, chunk, end) : chunk;
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const x = this.exchange(s);
    return x ? x.onTrailers(x.res, trailers) : FilterStatus.Continue;
  }

  onStreamComplete(s: HttpStream): void {
    this.exchange(s)?.close();
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
  create: (name, c, path) => new ExtProcFilter(name, compileExtProc(c, path)),
  perRoute: { 'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute': compileExtProcPerRoute },
});
