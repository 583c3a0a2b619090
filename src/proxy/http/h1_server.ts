// The downstream HTTP/1.1 codec: llhttp on the raw socket, one HttpStream per request,
// responses framed by hand (content-length, chunked, or close-delimited for HTTP/1.0), pipelined
// requests answered in order, upgrades (WebSocket) turned into raw tunnels, and the
// connection-level timeouts and limits that keep slow or abusive clients from holding resources.
import type net from 'node:net';
import type { Tunnel } from '../upstream/types.js';
import { getHeader, headerCaseOf, listsToken, setHeaderCase, type HeaderCase, type HeaderList } from './headers.js';
import { closeParser, HTTPParser, METHODS, newParser, type Parser, type ParseError } from './llhttp.js';
import { HttpStream, type ConnectionContext, type DownstreamCodec } from './stream.js';
import { STATUS_TEXT } from './status.js';

const kOnMessageBegin = HTTPParser.kOnMessageBegin;
const kOnHeaders = HTTPParser.kOnHeaders;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete;
const kOnBody = HTTPParser.kOnBody;
const kOnMessageComplete = HTTPParser.kOnMessageComplete;
const kOnExecute = HTTPParser.kOnExecute;
const EMPTY = Buffer.alloc(0);

/** A request parsed while an earlier one is still being answered (pipelining). */
interface Deferred {
  stream: HttpStream;
  endStream: boolean;
  events: (Buffer | HeaderList)[];
  ended: boolean;
}

export class H1ServerConnection implements DownstreamCodec {
  protocol: 'HTTP/1.0' | 'HTTP/1.1' = 'HTTP/1.1';
  private readonly parser: Parser;
  /** The stream whose request is being parsed. */
  private receiving: HttpStream | undefined;
  /** The stream whose response is being written (head of the pipeline). */
  private responding: HttpStream | undefined;
  private deferred: Deferred[] | undefined;
  private deferredCurrent: Deferred | undefined;
  private keepAlive = true;
  private chunkedResponse = false;
  /**
   * The response head, held until the body's first bytes (usually in the same tick): head and
   * a small body then leave in one plain write, without corking the socket.
   */
  private pendingHead: string | undefined;
  private responseNoBody = false;
  private draining = false;
  private closed = false;
  private upgrading = false;
  private parserReleased = false;
  private upgradeBuffer: Buffer[] | undefined;
  private headerBlock: string[] | undefined;
  private headersTimer: NodeJS.Timeout | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  /**
   * The connection idle timeout: one timer for the connection's life, refreshed each time the
   * connection goes idle and left running while requests are in flight (it is ignored when it
   * fires then). Switching a socket timeout off and on for every request costs a timer object
   * and a bound function each time.
   */
  private idleTimer: NodeJS.Timeout | undefined;
  private idleCounting = false;
  private requests = 0;
  private paused = false;
  private consumed = false;

  constructor(readonly socket: net.Socket, readonly ctx: ConnectionContext, private readonly onClose?: (c: H1ServerConnection) => void) {
    const hcm = ctx.hcm;
    const p = (this.parser = newParser(HTTPParser.REQUEST, hcm.maxRequestHeadersBytes));
    p[kOnMessageBegin] = this.onMessageBegin;
    p[kOnHeaders] = this.onHeaders;
    p[kOnHeadersComplete] = this.onHeadersComplete;
    p[kOnBody] = this.onBody;
    p[kOnMessageComplete] = this.onMessageComplete;
    hcm.stats.downstream_cx_total.value++;
    hcm.stats.downstream_cx_http1_total.value++;
    hcm.stats.downstream_cx_active.value++;
    socket.setNoDelay(true);
    if (hcm.idleTimeoutMs > 0) {
      this.idleTimer = setTimeout(onIdleTimeout, hcm.idleTimeoutMs, this).unref();
      this.idleCounting = true;
    }
    // Plain TCP: llhttp reads the socket natively (no 'data' events, no JS buffer copies).
    const handle = (socket as unknown as { _handle?: { isStreamBase?: boolean; _consumed?: boolean } })._handle;
    if (handle?.isStreamBase && !handle._consumed && !(socket as { encrypted?: boolean }).encrypted) {
      handle._consumed = true;
      this.consumed = true;
      p[kOnExecute] = this.onExecute;
      p.consume(handle);
    }
    socket.on('data', this.onData);
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => {});
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onSocketClose());
  }

  /** Feeds bytes that were read before this codec took the socket (protocol sniffing). */
  feed(d: Buffer): void {
    this.onData(d);
  }

  private readonly onData = (d: Buffer): void => {
    if (this.upgrading) { (this.upgradeBuffer ??= []).push(d); return; }
    const ret = this.parser.execute(d);
    if (typeof ret !== 'number') { this.onParseError(ret as ParseError); return; }
    if (this.upgrading && ret < d.length) (this.upgradeBuffer ??= []).push(d.subarray(ret));
  };

  /** After llhttp consumed bytes read natively from the socket. */
  private readonly onExecute = (ret: number | Error): void => {
    if (typeof ret !== 'number') { this.onParseError(ret as ParseError); return; }
    if (this.upgrading) {
      const d = this.parser.getCurrentBuffer();
      this.unconsume();
      if (ret < d.length) (this.upgradeBuffer ??= []).push(Buffer.from(d.subarray(ret)));
    }
  };

  /** The parser is done with (a tunnel took the socket, or it closed): see closeParser. */
  private releaseParser(): void {
    if (this.parserReleased) return;
    this.parserReleased = true;
    closeParser(this.parser, this.consumed);
    this.consumed = false;
  }

  private unconsume(): void {
    if (!this.consumed) return;
    this.consumed = false;
    this.parser.unconsume();
    (this.socket as unknown as { _handle?: { _consumed?: boolean } })._handle!._consumed = false;
  }

  private onParseError(err: ParseError): void {
    this.ctx.hcm.stats.downstream_cx_protocol_error.value++;
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const s = this.receiving ?? this.responding;
    if (s && s.responseStarted) { this.destroy(); return; }
    if (s && !s.done) s.onDownstreamReset();
    const body = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    this.keepAlive = false;
    this.socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${body}`, 'latin1');
    this.closed = true;
  }

  private readonly onMessageBegin = (): void => {
    const hcm = this.ctx.hcm;
    const t = hcm.requestHeadersTimeoutMs;
    if (t > 0) this.headersTimer = setTimeout(onHeadersTimeout, t, this);
    if (hcm.requestTimeoutMs > 0) this.requestTimer = setTimeout(onRequestTimeout, hcm.requestTimeoutMs, this);
    this.idleCounting = false;
  };

  private readonly onHeaders = (headers: string[]): void => {
    // llhttp flushes long header blocks in pieces before headers-complete (and trailers after the body).
    if (this.headerBlock) this.headerBlock.push(...headers);
    else this.headerBlock = headers.slice();
  };

  private readonly onHeadersComplete = (major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined,
    _status: number, _msg: string, upgrade: boolean, shouldKeepAlive: boolean): number => {
    if (this.headersTimer) { clearTimeout(this.headersTimer); this.headersTimer = undefined; }
    if (!headers) { headers = this.headerBlock ?? []; this.headerBlock = undefined; }
    const hcm = this.ctx.hcm;
    const s = new HttpStream(this, this.ctx);
    this.requests++;
    this.protocol = major === 1 && minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
    s.protocol = this.protocol;
    s.method = METHODS[method] ?? 'GET';
    s.path = url ?? '/';
    if (!shouldKeepAlive || this.draining || (hcm.maxRequestsPerConnection > 0 && this.requests >= hcm.maxRequestsPerConnection)) this.keepAlive = false;
    // Header names to lower case, Host to :authority, framing headers read.
    let host: string | undefined;
    let hosts = 0;
    let contentLength = -2;
    let chunked = false;
    let upgradeValue: string | undefined;
    let expectContinue = false;
    let w = 0;
    const caseMap: HeaderCase | undefined = hcm.preserveHeaderCase ? new Map() : undefined;
    for (let i = 0; i < headers.length; i += 2) {
      let name = headers[i]!;
      for (let j = 0; j < name.length; j++) {
        const c = name.charCodeAt(j);
        if (c >= 65 && c <= 90) { if (caseMap) caseMap.set(name.toLowerCase(), name); name = name.toLowerCase(); break; }
      }
      const value = headers[i + 1]!;
      if (name === 'host') { host = value; hosts++; continue; }
      if (name === 'content-length') contentLength = Number(value);
      else if (name === 'transfer-encoding') { chunked = true; continue; }
      else if (name === 'upgrade') upgradeValue = value;
      else if (name === 'expect') { if (value.toLowerCase() === '100-continue') expectContinue = true; continue; }
      headers[w++] = name;
      headers[w++] = value;
    }
    headers.length = w;
    if (caseMap?.size) setHeaderCase(headers, caseMap);
    s.headers = headers;
    if (hosts > 1) { this.rejectBeforeStream(s, 400, 'multiple host headers'); return 0; }
    // Absolute-form request targets carry the authority.
    if (s.path.charCodeAt(0) !== 47 && /^https?:\/\//i.test(s.path)) {
      const u = s.path.indexOf('/', s.path.indexOf('//') + 2);
      host = s.path.slice(s.path.indexOf('//') + 2, u < 0 ? undefined : u);
      s.path = u < 0 ? '/' : s.path.slice(u);
    }
    if (s.method === 'CONNECT') host = s.path;
    s.authority = host ?? '';
    if (this.protocol === 'HTTP/1.0' && !hcm.acceptHttp10) { this.rejectBeforeStream(s, 426, 'HTTP/1.0 is not allowed'); return 0; }
    if (chunked) { s.bodyLength = -1; if (contentLength >= 0) removeName(headers, 'content-length'); }
    else s.bodyLength = contentLength > 0 ? contentLength : 0;
    let isUpgrade = false;
    if (upgrade && s.method !== 'CONNECT' && upgradeValue !== undefined) {
      const ignored = hcm.ignoreHttp11UpgradePrefixes.some((p) => upgradeValue!.toLowerCase().startsWith(p));
      if (!ignored && listsToken(getHeader(headers, 'connection') ?? '', 'upgrade')) { s.upgrade = upgradeValue; isUpgrade = true; }
    }
    if (s.method === 'CONNECT') { s.upgrade = 'CONNECT'; isUpgrade = true; }
    if (expectContinue && s.bodyLength !== 0) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    const endStream = s.bodyLength === 0 && !isUpgrade;
    this.receiving = s;
    if (this.responding && !this.responding.done) {
      // Pipelined: answer in order; park this request until the previous one is done.
      const d: Deferred = { stream: s, endStream, events: [], ended: endStream };
      (this.deferred ??= []).push(d);
      this.deferredCurrent = d;
      this.pause();
    } else {
      this.responding = s;
      this.deferredCurrent = undefined;
      s.decodeHeaders(endStream);
    }
    if (isUpgrade) {
      this.upgrading = true;
      return 2;
    }
    return 0;
  };

  private readonly onBody = (chunk: Buffer): void => {
    const d = this.deferredCurrent;
    if (d) { d.events.push(chunk); return; }
    this.receiving?.decodeData(chunk, false);
  };

  private readonly onMessageComplete = (): void => {
    if (this.requestTimer) { clearTimeout(this.requestTimer); this.requestTimer = undefined; }
    const s = this.receiving;
    if (!s) return;
    const trailers = this.headerBlock;
    this.headerBlock = undefined;
    const d = this.deferredCurrent;
    if (d) {
      if (!d.ended) { if (trailers?.length) d.events.push(lower(trailers)); d.ended = true; }
    } else if (s.bodyLength !== 0) {
      if (trailers?.length && this.ctx.hcm.enableTrailers) s.decodeTrailers(lower(trailers));
      else s.decodeData(EMPTY, true);
    }
    this.receiving = undefined;
    this.deferredCurrent = undefined;
    if (!this.responding || this.responding.done) this.socketIdle();
  };

  private rejectBeforeStream(s: HttpStream, status: number, details: string): void {
    this.keepAlive = false;
    this.responding = s;
    s.reject(status, details);
  }

  // --- DownstreamCodec ---

  encodeHeaders(s: HttpStream, status: number, headers: HeaderList, endStream: boolean): void {
    if (s !== this.responding || this.closed) return;
    const socket = this.socket;
    let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n`;
    let hasLength = false;
    const caseMap = this.ctx.hcm.preserveHeaderCase ? headerCaseOf(headers) : undefined;
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!;
      if (n === 'content-length') hasLength = true;
      head += `${caseMap?.get(n) ?? n}: ${headers[i + 1]}\r\n`;
    }
    this.chunkedResponse = false;
    this.responseNoBody = s.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (status === 101) {
      head += 'connection: upgrade\r\n';
    } else {
      if (!hasLength && !this.responseNoBody) {
        if (endStream) head += 'content-length: 0\r\n';
        else if (this.protocol === 'HTTP/1.1') { head += 'transfer-encoding: chunked\r\n'; this.chunkedResponse = true; }
        else this.keepAlive = false; // HTTP/1.0: the body ends with the connection
      }
      if (!this.keepAlive || this.draining || this.upgrading) { head += 'connection: close\r\n'; this.keepAlive = false; }
    }
    head += '\r\n';
    if (endStream || status === 101) {
      socket.write(head, 'latin1');
      return;
    }
    this.pendingHead = head;
    process.nextTick(flushHead, this);
  }

  /** Writes the held response head, if any (the body did not come in the same tick). */
  flushHead(): void {
    const head = this.pendingHead;
    if (head === undefined) return;
    this.pendingHead = undefined;
    if (this.socket.writable) this.socket.write(head, 'latin1');
  }

  encodeData(s: HttpStream, chunk: Buffer, endStream: boolean): boolean {
    if (s !== this.responding || this.closed) return true;
    const socket = this.socket;
    const head = this.pendingHead;
    if (head !== undefined && !chunk.length && !endStream) return true;
    this.pendingHead = undefined;
    let ok = true;
    if (this.responseNoBody) {
      if (head !== undefined) ok = socket.write(head, 'latin1');
    } else if (this.chunkedResponse) {
      if (chunk.length) {
        const tail = endStream ? '\r\n0\r\n\r\n' : '\r\n';
        if (chunk.length <= SMALL_BODY) ok = socket.write(`${head ?? ''}${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}${tail}`, 'latin1');
        else {
          socket.cork();
          socket.write(`${head ?? ''}${chunk.length.toString(16)}\r\n`, 'latin1');
          socket.write(chunk);
          ok = socket.write(tail, 'latin1');
          socket.uncork();
        }
      } else if (endStream) ok = socket.write(`${head ?? ''}0\r\n\r\n`, 'latin1');
    } else if (head === undefined) {
      if (chunk.length) ok = socket.write(chunk);
    } else if (!chunk.length) {
      ok = socket.write(head, 'latin1');
    } else if (chunk.length <= SMALL_BODY) {
      // latin1 maps bytes to characters one to one: the body goes out byte for byte.
      ok = socket.write(head + chunk.toString('latin1'), 'latin1');
    } else {
      socket.cork();
      socket.write(head, 'latin1');
      ok = socket.write(chunk);
      socket.uncork();
    }
    return ok;
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): void {
    if (s !== this.responding || this.closed) return;
    this.flushHead();
    if (this.chunkedResponse) {
      let out = '0\r\n';
      for (let i = 0; i < trailers.length; i += 2) out += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      this.socket.write(`${out}\r\n`, 'latin1');
    }
  }

  resetStream(s: HttpStream): void {
    if (s !== this.responding && s !== this.receiving) return;
    this.destroy();
  }

  readDisable(_s: HttpStream, disable: boolean): void {
    if (disable) this.pause();
    else if (!this.deferred?.length) this.resume();
  }

  upgradeTunnel(s: HttpStream, upstream: Tunnel, head: Buffer): void {
    const down = this.socket;
    this.closed = true; // no more HTTP on this connection
    this.unconsume();
    this.releaseParser();
    down.removeListener('data', this.onData);
    this.stopIdleTimer();
    if (head.length) down.write(head);
    const pending = this.upgradeBuffer;
    this.upgradeBuffer = undefined;
    if (pending) for (const b of pending) upstream.write(b);
    down.on('data', (d: Buffer) => { if (!upstream.write(d)) down.pause(); });
    upstream.on('drain', () => down.resume());
    upstream.on('data', (d: Buffer) => { if (!down.write(d)) upstream.pause(); });
    down.on('drain', () => upstream.resume());
    const idle = s.route?.action.kind === 'route' ? s.route.action.idleTimeoutMs : undefined;
    if (idle) { down.setTimeout(idle); down.on('timeout', () => { down.destroy(); upstream.destroy(); }); }
    upstream.on('end', () => down.end());
    down.on('end', () => upstream.end());
    upstream.on('close', () => { down.destroy(); s.complete(); });
    upstream.on('error', () => down.destroy());
    down.on('close', () => { upstream.destroy(); s.complete(); });
    this.paused = false;
    down.resume();
  }

  // --- connection lifecycle ---

  private onDrain(): void {
    const s = this.responding;
    if (s && s.router) s.router.onDownstreamWritable();
  }

  /** The response of the head stream finished (called via stream completion). */
  streamDone(s: HttpStream): void {
    if (s !== this.responding) return;
    this.responding = undefined;
    if (this.closed) return;
    if (!s.responseComplete || !this.keepAlive || (s.upgrade && !this.closed)) {
      if (s.upgrade && s.responseComplete && this.upgrading) this.upgrading = false;
      this.closeAfterFlush();
      return;
    }
    const next = this.deferred?.shift();
    if (next) {
      this.responding = next.stream;
      const events = next.events;
      next.stream.decodeHeaders(next.endStream && !events.length);
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        const last = next.ended && i === events.length - 1;
        if (Buffer.isBuffer(e)) next.stream.decodeData(e, last);
        else next.stream.decodeTrailers(e as HeaderList);
      }
      if (next.ended && !events.length && !next.endStream) next.stream.decodeData(EMPTY, true);
      if (this.deferredCurrent === next) this.deferredCurrent = undefined;
      if (!this.deferred!.length) this.resume();
      return;
    }
    this.socketIdle();
  }

  private socketIdle(): void {
    if (this.receiving || (this.responding && !this.responding.done)) return;
    if (this.draining) { this.closeAfterFlush(); return; }
    if (this.idleTimer) { this.idleCounting = true; this.idleTimer.refresh(); }
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    this.idleCounting = false;
  }

  private pause(): void {
    if (!this.paused) { this.paused = true; this.socket.pause(); }
  }

  private resume(): void {
    if (this.paused) { this.paused = false; this.socket.resume(); }
  }

  /** Stop taking requests: the next response says close; an idle connection closes now. */
  drain(): void {
    this.draining = true;
    this.keepAlive = false;
    if (!this.receiving && (!this.responding || this.responding.done)) this.closeAfterFlush();
  }

  get idle(): boolean {
    return !this.receiving && (!this.responding || this.responding.done);
  }

  private closeAfterFlush(): void {
    if (this.closed) return;
    this.flushHead();
    this.closed = true;
    this.socket.end();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  onHeadersTimeout(): void {
    this.headersTimer = undefined;
    this.ctx.hcm.stats.downstream_rq_timeout.value++;
    const s = this.receiving;
    if (s && !s.done) { this.keepAlive = false; s.sendLocalReply(408, 'request timeout', 'request_header_timeout'); this.destroy(); return; }
    // Headers never completed: no stream yet; answer and close.
    this.socket.end('HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', 'latin1');
    this.closed = true;
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  onRequestTimeout(): void {
    this.requestTimer = undefined;
    this.ctx.hcm.stats.downstream_rq_timeout.value++;
    const s = this.receiving;
    this.keepAlive = false;
    if (s && !s.done && !s.responseStarted) { s.router?.cancel(); s.sendLocalReply(408, 'request timeout', 'request_overall_timeout'); }
    else if (!s) { this.onHeadersTimeout(); return; }
    this.closeAfterFlush();
  }

  onIdleTimeout(): void {
    // Fired while requests were in flight: the end of the last one starts the count again.
    if (this.idleCounting && this.idle) this.destroy();
  }

  private onEnd(): void {
    // The client half-closed: finish what is in flight, then close.
    if (this.receiving && !this.receiving.requestComplete) {
      this.receiving.onDownstreamReset();
      this.destroy();
      return;
    }
    this.keepAlive = false;
    if (this.idle) { this.flushHead(); this.socket.end(); }
  }

  private onSocketClose(): void {
    this.releaseParser();
    this.closed = true;
    if (this.headersTimer) clearTimeout(this.headersTimer);
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.stopIdleTimer();
    const hcm = this.ctx.hcm;
    hcm.stats.downstream_cx_active.value--;
    for (const s of [this.responding, this.receiving, ...(this.deferred ?? []).map((d) => d.stream)]) {
      if (s && !s.done) s.onDownstreamReset();
    }
    this.onClose?.(this);
  }
}

function onHeadersTimeout(c: H1ServerConnection): void { c.onHeadersTimeout(); }
function onRequestTimeout(c: H1ServerConnection): void { c.onRequestTimeout(); }
function onIdleTimeout(c: H1ServerConnection): void { c.onIdleTimeout(); }
function flushHead(c: H1ServerConnection): void { c.flushHead(); }

/** Bodies up to this size are written together with the head or chunk framing, as one string. */
const SMALL_BODY = 16 * 1024;

function lower(h: string[]): string[] {
  for (let i = 0; i < h.length; i += 2) h[i] = h[i]!.toLowerCase();
  return h;
}

function removeName(h: string[], name: string): void {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) { h.splice(i, 2); i -= 2; }
}
