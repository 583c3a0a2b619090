// The downstream HTTP/2 codec (TLS with ALPN h2, or h2c with prior knowledge): node:http2 runs
// the framing, flow control and HPACK; each stream becomes an HttpStream like an HTTP/1.1 request.
import http2 from 'node:http2';
import type { AcceptedConnection } from '../listener/network_filter.js';
import { setH2ServerHandler } from './hcm_filter.js';
import type { HcmConfig } from './hcm_config.js';
import type { HeaderList } from './headers.js';
import { HttpStream, type ConnectionContext, type DownstreamCodec } from './stream.js';

const EMPTY = Buffer.alloc(0);
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** One node:http2 server per HCM configuration (settings differ between listeners). */
const servers = new WeakMap<HcmConfig, http2.Http2Server>();

function serverFor(hcm: HcmConfig): http2.Http2Server {
  let s = servers.get(hcm);
  if (s) return s;
  s = http2.createServer({
    settings: {
      maxConcurrentStreams: Math.min(hcm.http2.maxConcurrentStreams, 2 ** 31 - 1),
      initialWindowSize: Math.min(hcm.http2.initialStreamWindowSize, 2 ** 31 - 1),
      maxHeaderListSize: hcm.maxRequestHeadersBytes,
    },
    maxSessionMemory: 64,
    maxHeaderListPairs: hcm.maxHeadersCount + 8,
  });
  s.on('session', (session: http2.ServerHttp2Session) => {
    const w = Math.min(hcm.http2.initialConnectionWindowSize, 2 ** 31 - 1);
    session.on('connect', () => { try { session.setLocalWindowSize(w); } catch { /* closed */ } });
  });
  servers.set(hcm, s);
  return s;
}

class H2Codec implements DownstreamCodec {
  readonly protocol = 'HTTP/2' as const;
  private draining = false;

  constructor(readonly session: http2.ServerHttp2Session, readonly ctx: ConnectionContext) {}

  onStream(stream: http2.ServerHttp2Stream, rawHeaders: string[]): void {
    if (this.draining) { stream.close(NGHTTP2_REFUSED_STREAM); return; }
    const s = new HttpStream(this, this.ctx);
    s.codecStream = stream;
    const headers: HeaderList = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const n = rawHeaders[i]!;
      const v = rawHeaders[i + 1]!;
      if (n.charCodeAt(0) === 58 /* : */) {
        if (n === ':method') s.method = v;
        else if (n === ':path') s.path = v;
        else if (n === ':authority') s.authority = v;
        else if (n === ':scheme') { /* the connection decides the scheme */ }
        continue;
      }
      if (n === 'host') { if (!s.authority) s.authority = v; continue; }
      if (n === 'cookie') {
        // HTTP/2 may split cookies into several fields; upstream HTTP/1.1 wants one.
        const at = headers.indexOf('cookie');
        if (at >= 0 && at % 2 === 0) { headers[at + 1] = `${headers[at + 1]}; ${v}`; continue; }
      }
      headers.push(n, v);
    }
    s.headers = headers;
    const cl = headers.indexOf('content-length');
    const endStream = stream.readableEnded || (stream as unknown as { endAfterHeaders?: boolean }).endAfterHeaders === true;
    s.bodyLength = endStream ? 0 : cl >= 0 && cl % 2 === 0 ? Number(headers[cl + 1]) : -1;
    if (s.method === 'CONNECT') s.upgrade = 'CONNECT';
    let trailers = false;
    stream.on('data', (d: Buffer) => s.decodeData(d, false));
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = true;
      const list: HeaderList = [];
      for (const [k, v] of Object.entries(t)) if (v !== undefined) for (const x of Array.isArray(v) ? v : [v]) list.push(k, String(x));
      s.decodeTrailers(list);
    });
    stream.on('end', () => { if (!trailers && !endStream) s.decodeData(EMPTY, true); });
    stream.on('drain', () => s.router?.onDownstreamWritable());
    stream.on('error', () => {});
    stream.on('close', () => { if (!s.done) s.onDownstreamReset(); });
    s.decodeHeaders(endStream);
  }

  encodeHeaders(s: HttpStream, status: number, headers: HeaderList, endStream: boolean): void {
    const stream = s.codecStream as http2.ServerHttp2Stream;
    if (stream.destroyed || stream.headersSent) return;
    const out: http2.OutgoingHttpHeaders = { ':status': status };
    let grpc = false;
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!;
      if (n === 'connection' || n === 'keep-alive' || n === 'transfer-encoding' || n === 'upgrade' || n === 'proxy-connection') continue;
      const v = headers[i + 1]!;
      if (n === 'content-type' && v.startsWith('application/grpc')) grpc = true;
      const prev = out[n];
      out[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    // gRPC (and any client asking for trailers) gets them; otherwise the last DATA frame ends the stream.
    const wantTrailers = !endStream && (grpc || s.headers.includes('te'));
    (s as { h2WantTrailers?: boolean }).h2WantTrailers = wantTrailers;
    try {
      stream.respond(out, { endStream, waitForTrailers: wantTrailers });
    } catch {
      stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  }

  encodeData(s: HttpStream, chunk: Buffer, endStream: boolean): boolean {
    const stream = s.codecStream as http2.ServerHttp2Stream;
    if (stream.destroyed) return true;
    if (endStream) {
      if ((s as { h2WantTrailers?: boolean }).h2WantTrailers) stream.once('wantTrailers', () => stream.sendTrailers({}));
      stream.end(chunk.length ? chunk : undefined);
      return true;
    }
    return stream.write(chunk);
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): void {
    const stream = s.codecStream as http2.ServerHttp2Stream;
    if (stream.destroyed) return;
    const t: http2.OutgoingHttpHeaders = {};
    for (let i = 0; i < trailers.length; i += 2) t[trailers[i]!] = trailers[i + 1]!;
    if ((s as { h2WantTrailers?: boolean }).h2WantTrailers) {
      stream.once('wantTrailers', () => stream.sendTrailers(t));
    }
    stream.end();
  }

  resetStream(s: HttpStream): void {
    const stream = s.codecStream as http2.ServerHttp2Stream;
    if (!stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  readDisable(s: HttpStream, disable: boolean): void {
    const stream = s.codecStream as http2.ServerHttp2Stream;
    if (disable) stream.pause();
    else stream.resume();
  }

  drain(): void {
    this.draining = true;
    if (!this.session.destroyed) this.session.close();
  }
}

setH2ServerHandler((c: AcceptedConnection, ctx: ConnectionContext, first: Buffer | undefined) => {
  const hcm = ctx.hcm;
  const server = serverFor(hcm);
  hcm.stats.downstream_cx_total.value++;
  hcm.stats.downstream_cx_http2_total.value++;
  hcm.stats.downstream_cx_active.value++;
  c.socket.once('close', () => hcm.stats.downstream_cx_active.value--);
  let codec: H2Codec | undefined;
  const onSession = (session: http2.ServerHttp2Session) => {
    // emit('connection') creates this connection's session synchronously (session.socket is a
    // proxy object, so it cannot be compared with ours).
    server.off('session', onSession);
    codec = new H2Codec(session, ctx);
    session.on('stream', (stream: http2.ServerHttp2Stream, _h: unknown, _f: unknown, raw: string[]) => codec!.onStream(stream, raw));
    session.on('error', () => {});
    if (hcm.idleTimeoutMs > 0) session.setTimeout(hcm.idleTimeoutMs, () => session.close());
  };
  server.on('session', onSession);
  // Sniffed bytes go back into the socket's buffer (paused, so that they are not emitted to
  // nobody); the HTTP/2 session reads what is buffered before taking over the handle.
  if (first) { c.socket.pause(); c.socket.unshift(first); }
  server.emit('connection', c.socket);
  server.off('session', onSession);
  return { drain: () => codec?.drain() };
});
