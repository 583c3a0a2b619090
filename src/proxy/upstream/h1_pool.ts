// HTTP/1.1 connection pool for one upstream host: keep-alive connections reused last-in
// first-out, new ones opened up to the cluster's connection limit, requests queued up to the
// pending limit. Each connection parses responses with llhttp directly on the socket.
import type net from 'node:net';
import { headerCaseOf, setHeaderCase, type HeaderCase, type HeaderList } from '../http/headers.js';
import { closeParser, HTTPParser, newParser, type Parser } from '../http/llhttp.js';
import type { ClusterResources } from './resources.js';
import type { ConnPool, ResetReason, Tunnel, UpstreamCallbacks, UpstreamRequestHead, UpstreamStream } from './types.js';

export interface H1PoolOptions {
  connect(authority: string | undefined): net.Socket;
  /** Whether connect() gives a TLS socket ('secureConnect' instead of 'connect'). */
  tls: boolean;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  resources: ClusterResources;
  preserveHeaderCase: boolean;
}

const kOnHeaders = HTTPParser.kOnHeaders;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete;
const kOnBody = HTTPParser.kOnBody;
const kOnMessageComplete = HTTPParser.kOnMessageComplete;

export class H1Pool implements ConnPool {
  private readonly idle: H1Connection[] = [];
  private readonly pending: H1Stream[] = [];
  private connecting = 0;
  private draining = false;
  activeStreams = 0;
  connections = 0;

  constructor(readonly opts: H1PoolOptions) {}

  newStream(head: UpstreamRequestHead, endStream: boolean, cb: UpstreamCallbacks): UpstreamStream {
    const s = new H1Stream(this, head, endStream, cb);
    const res = this.opts.resources;
    if (res.activeRequests >= res.breakers.maxRequests) {
      res.overflowRequests++;
      process.nextTick(failStream, s, 'overflow', 'upstream max requests reached');
      return s;
    }
    res.activeRequests++;
    this.activeStreams++;
    s.counted = true;
    const conn = this.idle.pop();
    if (conn) {
      conn.assign(s);
      return s;
    }
    if (this.pending.length >= res.breakers.maxPendingRequests) {
      res.overflowPending++;
      process.nextTick(failStream, s, 'overflow', 'upstream max pending requests reached');
      return s;
    }
    this.pending.push(s);
    res.pendingRequests++;
    // One new connection per queued request beyond those already being opened.
    if (this.connecting < this.pending.length && res.connections < res.breakers.maxConnections) this.openConnection(head.authority);
    return s;
  }

  private openConnection(authority: string): void {
    const res = this.opts.resources;
    res.connections++;
    this.connections++;
    this.connecting++;
    new H1Connection(this, this.opts.connect(authority));
  }

  /** A connection became free (new or after a response): serve the queue or park it. */
  release(conn: H1Connection): void {
    if (conn.connecting) { conn.connecting = false; this.connecting--; }
    // A response that ended while the client was backed up leaves the socket paused: the next
    // request on it must be able to read its response (and an idle one to see the close).
    if (conn.socket.isPaused()) conn.socket.resume();
    const next = this.pending.shift();
    if (next) {
      this.opts.resources.pendingRequests--;
      conn.assign(next);
      return;
    }
    if (this.draining || !conn.reusable()) { conn.close(); return; }
    conn.parkIdle();
    this.idle.push(conn);
  }

  /** A connection closed or failed to connect. */
  closed(conn: H1Connection, failedToConnect: boolean, reason: string): void {
    this.opts.resources.connections--;
    this.connections--;
    if (conn.connecting) { conn.connecting = false; this.connecting--; }
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (failedToConnect && this.pending.length) {
      // Envoy fails the requests waiting on a connection that could not be made.
      const waiting = this.pending.splice(0, Math.max(1, this.pending.length - this.connecting));
      for (const s of waiting) {
        this.opts.resources.pendingRequests--;
        s.fail(reason === 'timeout' ? 'connect-timeout' : 'connect-failure', reason);
      }
    }
  }

  cancelPending(s: H1Stream): void {
    const i = this.pending.indexOf(s);
    if (i >= 0) { this.pending.splice(i, 1); this.opts.resources.pendingRequests--; }
  }

  streamDone(s: H1Stream): void {
    if (!s.counted) return;
    s.counted = false;
    this.activeStreams--;
    this.opts.resources.activeRequests--;
  }

  drain(): void {
    this.draining = true;
    for (const c of this.idle.splice(0)) c.close();
  }
}

function failStream(s: H1Stream, reason: ResetReason, detail: string): void {
  s.fail(reason, detail);
}

const enum StreamState { Pending, Active, Done }

class H1Stream implements UpstreamStream {
  conn: H1Connection | undefined;
  state = StreamState.Pending;
  counted = false;
  requestComplete: boolean;
  responseStarted = false;
  /** Body chunks sent before a connection was bound. */
  queued: Buffer[] | undefined;
  queuedEnd = false;
  queuedTrailers: HeaderList | undefined;

  constructor(readonly pool: H1Pool, readonly head: UpstreamRequestHead, endStream: boolean, readonly cb: UpstreamCallbacks) {
    this.requestComplete = endStream;
  }

  sendData(chunk: Buffer, endStream: boolean): boolean {
    if (this.state === StreamState.Done) return true;
    if (!this.conn) {
      (this.queued ??= []).push(chunk);
      if (endStream) this.queuedEnd = true;
      return true;
    }
    return this.conn.writeBody(chunk, endStream, this);
  }

  sendTrailers(trailers: HeaderList): void {
    if (this.state === StreamState.Done) return;
    if (!this.conn) { this.queuedTrailers = trailers; this.queuedEnd = true; return; }
    this.conn.writeTrailers(trailers, this);
  }

  readDisable(disable: boolean): void {
    const c = this.conn;
    if (!c || c.stream !== this) return;
    if (disable) c.socket.pause();
    else c.socket.resume();
  }

  reset(): void {
    if (this.state === StreamState.Done) return;
    const conn = this.conn;
    this.state = StreamState.Done;
    this.pool.streamDone(this);
    if (conn) conn.destroyFor(this);
    else this.pool.cancelPending(this);
  }

  fail(reason: ResetReason, detail: string): void {
    if (this.state === StreamState.Done) return;
    this.state = StreamState.Done;
    this.pool.streamDone(this);
    this.cb.onUpstreamReset(reason, detail);
  }
}

class H1Connection {
  readonly parser: Parser;
  stream: H1Stream | undefined;
  connecting = true;
  connected = false;
  requests = 0;
  keepAlive = true;
  chunked = false;
  isHead = false;
  headersDone = false;
  upgraded = false;
  closedFlag = false;
  private trailerHeaders: string[] | undefined;
  /**
   * The idle timeout, created when the connection is first parked and then refreshed at each
   * park; it keeps running while a request is out and is ignored if it fires then (cheaper than
   * switching a socket timeout off and on around every request).
   */
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly pool: H1Pool, readonly socket: net.Socket) {
    const p = (this.parser = newParser(HTTPParser.RESPONSE, 0));
    p[kOnHeaders] = this.onHeaders;
    p[kOnHeadersComplete] = this.onHeadersComplete;
    p[kOnBody] = this.onBody;
    p[kOnMessageComplete] = this.onMessageComplete;
    socket.setTimeout(pool.opts.connectTimeoutMs);
    socket.once(pool.opts.tls ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      socket.setTimeout(0);
      pool.release(this);
    });
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('timeout', () => this.onTimeout());
    socket.on('error', (err: Error) => this.onClose(err.message));
    socket.on('close', () => this.onClose('connection closed'));
    socket.on('drain', () => this.stream?.cb.onUpstreamWritable());
  }

  reusable(): boolean {
    const max = this.pool.opts.maxRequestsPerConnection;
    return this.keepAlive && !this.closedFlag && this.connected && !this.upgraded && (max === 0 || this.requests < max);
  }

  parkIdle(): void {
    if (this.idleTimer) this.idleTimer.refresh();
    else if (this.pool.opts.idleTimeoutMs > 0) this.idleTimer = setTimeout(onIdleTimeout, this.pool.opts.idleTimeoutMs, this).unref();
  }

  onIdleTimeout(): void {
    if (!this.stream) this.close();
  }

  assign(s: H1Stream): void {
    this.stream = s;
    s.conn = this;
    s.state = StreamState.Active;
    this.requests++;
    this.headersDone = false;
    this.keepAlive = true;
    // The previous stream may have ended while the downstream held its reads (flow control):
    // its resume never reached this connection, and the new response must be read.
    if (this.socket.isPaused()) this.socket.resume();
    const h = s.head;
    this.isHead = h.method === 'HEAD';
    this.chunked = h.bodyLength === -1;
    const headers = h.headers;
    const caseMap = this.pool.opts.preserveHeaderCase ? headerCaseOf(headers) : undefined;
    let out = `${h.method} ${h.path} HTTP/1.1\r\n${caseMap?.get('host') ?? 'host'}: ${h.authority}\r\n`;
    for (let i = 0; i < headers.length; i += 2) out += `${caseMap?.get(headers[i]!) ?? headers[i]}: ${headers[i + 1]}\r\n`;
    if (this.chunked) out += 'transfer-encoding: chunked\r\n';
    else if (h.bodyLength === 0 && !s.requestComplete) { /* body length unknown yet: filled by content-length header */ }
    if (h.upgrade) out += `connection: upgrade\r\nupgrade: ${h.upgrade}\r\n`;
    out += '\r\n';
    const queued = s.queued;
    if (!queued && !s.queuedTrailers) {
      this.socket.write(out, 'latin1');
    } else {
      this.socket.cork();
      this.socket.write(out, 'latin1');
      s.queued = undefined;
      if (queued) for (let i = 0; i < queued.length; i++) this.writeBody(queued[i]!, s.queuedEnd && i === queued.length - 1 && !s.queuedTrailers, s);
      if (s.queuedTrailers) this.writeTrailers(s.queuedTrailers, s);
      else if (s.queuedEnd && !queued?.length) this.writeBody(Buffer.alloc(0), true, s);
      this.socket.uncork();
    }
    s.cb.onUpstreamConnected?.();
  }

  writeBody(chunk: Buffer, end: boolean, s: H1Stream): boolean {
    if (this.stream !== s) return true;
    let ok = true;
    if (this.chunked) {
      if (chunk.length) {
        this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        this.socket.write(chunk);
        ok = this.socket.write('\r\n', 'latin1');
      }
      if (end) ok = this.socket.write('0\r\n\r\n', 'latin1');
    } else if (chunk.length) ok = this.socket.write(chunk);
    if (end) { s.requestComplete = true; this.maybeDone(); }
    return ok;
  }

  writeTrailers(trailers: HeaderList, s: H1Stream): void {
    if (this.stream !== s) return;
    if (this.chunked) {
      let out = '0\r\n';
      for (let i = 0; i < trailers.length; i += 2) out += `${trailers[i]}: ${trailers[i + 1]}\r\n`;
      this.socket.write(`${out}\r\n`, 'latin1');
    }
    s.requestComplete = true;
    this.maybeDone();
  }

  private onData(d: Buffer): void {
    if (this.upgraded) return;
    const s = this.stream;
    if (!s) {
      // Bytes on an idle connection: the server is broken; drop the connection.
      this.socket.destroy();
      return;
    }
    const ret = this.parser.execute(d);
    if (ret instanceof Error) {
      this.keepAlive = false;
      this.failActive('protocol-error', `upstream protocol error: ${(ret as { reason?: string }).reason ?? ret.message}`);
      this.socket.destroy();
      return;
    }
    if (this.upgraded) {
      // The 101 was parsed: what followed it in this read is already tunnel data.
      const cb = s.cb;
      this.detachForTunnel();
      cb.onUpstreamUpgrade!(this.socket as unknown as Tunnel, d.subarray(ret as number));
    }
  }

  private readonly onHeaders = (headers: string[]): void => {
    // Trailers (after a chunked body), or header blocks llhttp flushes early when they are many.
    (this.trailerHeaders ??= []).push(...headers);
  };

  private readonly onHeadersComplete = (_major: number, _minor: number, headers: string[] | undefined, _method: number, _url: string,
    status: number, _statusMessage: string, upgrade: boolean, shouldKeepAlive: boolean): number => {
    const s = this.stream;
    if (!s) return 0;
    if (!headers) { headers = this.trailerHeaders ?? []; this.trailerHeaders = undefined; }
    if (status >= 100 && status < 200 && status !== 101) {
      // Interim responses (100 Continue, 103) are not forwarded; the final one follows.
      return 0;
    }
    this.keepAlive = shouldKeepAlive;
    this.headersDone = true;
    s.responseStarted = true;
    if (upgrade && status === 101 && s.head.upgrade && s.cb.onUpstreamUpgrade) {
      this.upgraded = true;
      this.keepAlive = false;
      lowerNames(headers);
      s.cb.onUpstreamHeaders(status, headers, false);
      return 2;
    }
    if (this.pool.opts.preserveHeaderCase) {
      const caseMap: HeaderCase = new Map();
      for (let i = 0; i < headers.length; i += 2) { const n = headers[i]!; const l = n.toLowerCase(); if (l !== n) caseMap.set(l, n); }
      lowerNames(headers);
      if (caseMap.size) setHeaderCase(headers, caseMap);
    } else lowerNames(headers);
    const noBody = this.isHead || status === 204 || status === 304;
    s.cb.onUpstreamHeaders(status, headers, false);
    return noBody ? 1 : 0;
  };

  private readonly onBody = (chunk: Buffer): void => {
    const s = this.stream;
    if (s && s.state === StreamState.Active) s.cb.onUpstreamData(chunk, false);
  };

  private readonly onMessageComplete = (): void => {
    const s = this.stream;
    // After a 101 the message "completes" but the connection becomes a tunnel (see onData).
    if (!s || !this.headersDone || this.upgraded) return;
    const trailers = this.trailerHeaders;
    this.trailerHeaders = undefined;
    if (s.state === StreamState.Active) {
      if (trailers?.length) {
        lowerNames(trailers);
        s.cb.onUpstreamTrailers(trailers);
      } else s.cb.onUpstreamData(EMPTY, true);
    }
    this.headersDone = false;
    if (!s.requestComplete) {
      // The upstream answered before the whole request was sent: this connection cannot be reused.
      this.keepAlive = false;
    }
    this.finishStream(s);
  };

  private maybeDone(): void {
    // Nothing to do: the response completion releases the connection.
  }

  private finishStream(s: H1Stream): void {
    s.state = StreamState.Done;
    this.pool.streamDone(s);
    this.stream = undefined;
    if (this.keepAlive && s.requestComplete) this.pool.release(this);
    else this.close();
  }

  private detachForTunnel(): void {
    const s = this.stream!;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('end');
    this.socket.removeAllListeners('timeout');
    this.socket.removeAllListeners('drain');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    this.socket.on('error', () => {});
    closeParser(this.parser);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    s.state = StreamState.Done;
    this.pool.streamDone(s);
    this.stream = undefined;
    this.pool.closed(this, false, 'upgraded');
  }

  private onEnd(): void {
    // Close-delimited bodies end with the connection.
    if (this.stream && this.headersDone) {
      const r = this.parser.finish();
      if (r instanceof Error) this.failActive('connection-termination', 'upstream closed mid-response');
    }
    this.socket.end();
  }

  private onTimeout(): void {
    // The socket timeout is the connect timeout only (the idle timeout is idleTimer).
    if (!this.connected) this.connectFailed('timeout');
  }

  private connectFailed(reason: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.pool.closed(this, true, reason);
    this.socket.destroy();
  }

  private onClose(reason: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.connected) {
      this.pool.closed(this, true, reason);
      return;
    }
    this.failActive(this.stream?.responseStarted ? 'remote-reset' : 'connection-termination', reason);
    this.pool.closed(this, false, reason);
    closeParser(this.parser);
  }

  private failActive(reason: ResetReason, detail: string): void {
    const s = this.stream;
    if (!s) return;
    this.stream = undefined;
    s.fail(reason, detail);
  }

  destroyFor(s: H1Stream): void {
    if (this.stream !== s) return;
    this.stream = undefined;
    this.close();
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.pool.closed(this, false, 'closed');
    this.socket.destroy();
    closeParser(this.parser);
  }
}

const EMPTY = Buffer.alloc(0);

function onIdleTimeout(c: H1Connection): void {
  c.onIdleTimeout();
}

function lowerNames(h: string[]): void {
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i]!;
    for (let j = 0; j < n.length; j++) {
      const c = n.charCodeAt(j);
      if (c >= 65 && c <= 90) { h[i] = n.toLowerCase(); break; }
    }
  }
}
