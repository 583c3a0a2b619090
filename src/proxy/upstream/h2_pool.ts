// HTTP/2 connection pool for one upstream host (gRPC backends, h2c, h2 over TLS): requests are
// multiplexed on one session up to its concurrent-stream limit; more sessions are opened up to
// the cluster's connection limit; requests wait (up to the pending limit) otherwise.
import http2 from 'node:http2';
import type net from 'node:net';
import type { HeaderList } from '../http/headers.js';
import type { Cluster } from './cluster.js';
import type { Host } from './host.js';
import { setH2PoolFactory } from './pools.js';
import { connectUpstream, transportFor } from './transport.js';
import type { ConnPool, ResetReason, UpstreamCallbacks, UpstreamRequestHead, UpstreamStream } from './types.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;
const EMPTY = Buffer.alloc(0);

interface Session {
  session: http2.ClientHttp2Session;
  active: number;
  max: number;
  ready: boolean;
}

class H2Pool implements ConnPool {
  private sessions: Session[] = [];
  private readonly pending: H2Stream[] = [];
  activeStreams = 0;
  private draining = false;

  constructor(private readonly cluster: Cluster, private readonly host: Host) {}

  newStream(head: UpstreamRequestHead, endStream: boolean, cb: UpstreamCallbacks): UpstreamStream {
    const s = new H2Stream(this, head, endStream, cb);
    const res = this.cluster.resources;
    if (res.activeRequests >= res.breakers.maxRequests) {
      res.overflowRequests++;
      process.nextTick(() => s.fail('overflow', 'upstream max requests reached'));
      return s;
    }
    res.activeRequests++;
    this.activeStreams++;
    s.counted = true;
    const session = this.sessions.find((x) => x.ready && x.active < x.max && !x.session.closed);
    if (session) { s.start(session); return s; }
    if (this.pending.length >= res.breakers.maxPendingRequests) {
      res.overflowPending++;
      process.nextTick(() => s.fail('overflow', 'upstream max pending requests reached'));
      return s;
    }
    this.pending.push(s);
    res.pendingRequests++;
    if (!this.sessions.some((x) => !x.ready) && res.connections < res.breakers.maxConnections) this.connect(head.authority);
    return s;
  }

  private connect(authority: string): void {
    const c = this.cluster;
    const res = c.resources;
    res.connections++;
    c.stats.upstream_cx_total++;
    const tls = transportFor(c.settings, this.host).tls !== undefined;
    let socket: net.Socket | undefined;
    const session = http2.connect(`${tls ? 'https' : 'http'}://${this.host.pipe ? 'localhost' : this.host.toString()}`, {
      createConnection: () => (socket = connectUpstream({ cluster: c.settings, host: this.host, secrets: this.cluster.secrets, alpn: tls ? ['h2'] : undefined, authority })),
      settings: { initialWindowSize: Math.min(c.settings.http2.initialStreamWindowSize, 2 ** 31 - 1), enablePush: false },
      maxSessionMemory: 64,
    });
    void socket;
    const entry: Session = { session, active: 0, max: Math.min(c.settings.http2.maxConcurrentStreams, 1000), ready: false };
    this.sessions.push(entry);
    const timer = setTimeout(() => session.destroy(new Error('connect timeout')), c.settings.connectTimeoutMs);
    session.once('connect', () => {
      clearTimeout(timer);
      entry.ready = true;
      const remote = session.remoteSettings.maxConcurrentStreams;
      if (remote) entry.max = Math.min(entry.max, remote);
      try { session.setLocalWindowSize(Math.min(c.settings.http2.initialConnectionWindowSize, 2 ** 31 - 1)); } catch { /* closed */ }
      this.dispatch();
    });
    session.on('remoteSettings', (st) => { if (st.maxConcurrentStreams) entry.max = Math.min(entry.max, st.maxConcurrentStreams); });
    session.on('error', () => {});
    session.setTimeout(c.settings.idleTimeoutMs, () => { if (entry.active === 0) session.close(); });
    session.once('close', () => {
      clearTimeout(timer);
      res.connections--;
      this.sessions = this.sessions.filter((x) => x !== entry);
      if (!entry.ready) {
        c.stats.upstream_cx_connect_fail++;
        // Requests waiting for this connection fail as a connection failure.
        const waiting = this.pending.splice(0);
        for (const s of waiting) { res.pendingRequests--; s.fail('connect-failure', 'connection failure'); }
      }
    });
  }

  dispatch(): void {
    while (this.pending.length) {
      const session = this.sessions.find((x) => x.ready && x.active < x.max && !x.session.closed);
      if (!session) break;
      const s = this.pending.shift()!;
      this.cluster.resources.pendingRequests--;
      s.start(session);
    }
    if (this.pending.length && !this.sessions.some((x) => !x.ready) && this.cluster.resources.connections < this.cluster.resources.breakers.maxConnections) {
      this.connect(this.pending[0]!.head.authority);
    }
  }

  cancelPending(s: H2Stream): void {
    const i = this.pending.indexOf(s);
    if (i >= 0) { this.pending.splice(i, 1); this.cluster.resources.pendingRequests--; }
  }

  streamDone(s: H2Stream): void {
    if (!s.counted) return;
    s.counted = false;
    this.activeStreams--;
    this.cluster.resources.activeRequests--;
  }

  drain(): void {
    this.draining = true;
    for (const s of this.sessions) if (s.active === 0) s.session.close();
  }
}

class H2Stream implements UpstreamStream {
  counted = false;
  done = false;
  req: http2.ClientHttp2Stream | undefined;
  private session: Session | undefined;
  private queued: Buffer[] = [];
  private queuedEnd: boolean;
  private queuedTrailers: HeaderList | undefined;
  private gotTrailers = false;

  constructor(readonly pool: H2Pool, readonly head: UpstreamRequestHead, readonly endStream: boolean, readonly cb: UpstreamCallbacks) {
    this.queuedEnd = endStream;
  }

  start(session: Session): void {
    if (this.done) return;
    this.session = session;
    session.active++;
    const h = this.head;
    const out: http2.OutgoingHttpHeaders = { ':method': h.method, ':path': h.path, ':scheme': h.scheme, ':authority': h.authority };
    for (let i = 0; i < h.headers.length; i += 2) {
      const n = h.headers[i]!;
      if (n === 'connection' || n === 'keep-alive' || n === 'transfer-encoding' || n === 'upgrade' || n === 'proxy-connection' || n === 'host') continue;
      if (n === 'te' && h.headers[i + 1] !== 'trailers') continue;
      const prev = out[n];
      out[n] = prev === undefined ? h.headers[i + 1]! : Array.isArray(prev) ? [...prev, h.headers[i + 1]!] : [String(prev), h.headers[i + 1]!];
    }
    const endNow = this.queuedEnd && !this.queued.length && !this.queuedTrailers;
    let req: http2.ClientHttp2Stream;
    try {
      req = session.session.request(out, { endStream: endNow, waitForTrailers: this.queuedTrailers !== undefined || (!endNow && h.headers.includes('te')) });
    } catch (err) {
      session.active--;
      this.fail('connection-termination', (err as Error).message);
      return;
    }
    this.req = req;
    req.on('response', (headers, flags) => {
      const list: HeaderList = [];
      let status = 200;
      for (const [k, v] of Object.entries(headers)) {
        if (k === ':status') { status = Number(v); continue; }
        if (k.startsWith(':') || v === undefined) continue;
        for (const x of Array.isArray(v) ? v : [v]) list.push(k, String(x));
      }
      const end = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      if (status >= 100 && status < 200) return;
      this.cb.onUpstreamHeaders(status, list, end);
      if (end) this.finish();
    });
    req.on('data', (d: Buffer) => { if (!this.done) this.cb.onUpstreamData(d, false); });
    req.on('trailers', (t) => {
      this.gotTrailers = true;
      const list: HeaderList = [];
      for (const [k, v] of Object.entries(t)) if (v !== undefined && !k.startsWith(':')) for (const x of Array.isArray(v) ? v : [v]) list.push(k, String(x));
      if (!this.done) { this.finish(); this.cb.onUpstreamTrailers(list); }
    });
    req.on('end', () => { if (!this.done && !this.gotTrailers) { this.finish(); this.cb.onUpstreamData(EMPTY, true); } });
    req.on('drain', () => this.cb.onUpstreamWritable());
    req.on('error', () => {});
    req.on('close', () => {
      if (this.done) return;
      const code = req.rstCode;
      this.fail(code === NGHTTP2_REFUSED_STREAM ? 'refused-stream' : 'remote-reset', `stream reset (code ${code})`);
    });
    if (this.queuedTrailers) req.once('wantTrailers', () => req.sendTrailers(toObject(this.queuedTrailers!)));
    for (let i = 0; i < this.queued.length; i++) {
      const last = i === this.queued.length - 1 && this.queuedEnd && !this.queuedTrailers;
      if (last) req.end(this.queued[i]); else req.write(this.queued[i]);
    }
    if (this.queuedEnd && !endNow && !this.queued.length) req.end();
    this.queued = [];
    this.cb.onUpstreamConnected?.();
  }

  sendData(chunk: Buffer, endStream: boolean): boolean {
    if (this.done) return true;
    if (!this.req) {
      if (chunk.length) this.queued.push(chunk);
      if (endStream) this.queuedEnd = true;
      return true;
    }
    if (endStream) { this.req.end(chunk.length ? chunk : undefined); return true; }
    return this.req.write(chunk);
  }

  sendTrailers(trailers: HeaderList): void {
    if (this.done) return;
    if (!this.req) { this.queuedTrailers = trailers; this.queuedEnd = true; return; }
    // Trailers need waitForTrailers at request time; without it they can only be dropped.
    this.req.once('wantTrailers', () => this.req!.sendTrailers(toObject(trailers)));
    this.req.end();
  }

  readDisable(disable: boolean): void {
    if (!this.req) return;
    if (disable) this.req.pause(); else this.req.resume();
  }

  reset(): void {
    if (this.done) return;
    this.finish();
    if (this.req && !this.req.destroyed) this.req.close(NGHTTP2_CANCEL);
    else this.pool.cancelPending(this);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.session) { this.session.active--; this.pool.dispatch(); }
    this.pool.streamDone(this);
  }

  fail(reason: ResetReason, detail: string): void {
    if (this.done) return;
    this.finish();
    this.cb.onUpstreamReset(reason, detail);
  }
}

function toObject(l: HeaderList): http2.OutgoingHttpHeaders {
  const o: http2.OutgoingHttpHeaders = {};
  for (let i = 0; i < l.length; i += 2) o[l[i]!] = l[i + 1]!;
  return o;
}

setH2PoolFactory((cluster, host) => new H2Pool(cluster, host));
