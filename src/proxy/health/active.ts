// Active health checking of a cluster's hosts, as Envoy's health checkers do it: one session per
// host runs a check (HTTP request, TCP send/receive, gRPC Health/Check) every interval, over the
// cluster's transport socket. A new host starts unhealthy and becomes healthy on its first passed
// check; afterwards healthy_threshold passes or unhealthy_threshold network failures change its
// state, while a wrong HTTP status fails it at once (unless retriable). Intervals follow Envoy:
// the edge intervals while a change is pending, unhealthy_interval for unhealthy hosts, and
// no_traffic_interval until the cluster has carried traffic. Events go to the file event sinks.
import { createWriteStream, type WriteStream } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { Cluster } from '../upstream/cluster.js';
import { HealthFlag, type Host } from '../upstream/host.js';
import { connectUpstream, transportFor } from '../upstream/transport.js';
import type { GrpcCheck, HealthCheckSettings, HttpCheck, TcpCheck } from './health_check_config.js';

export type FailureType = 'ACTIVE' | 'PASSIVE' | 'NETWORK' | 'NETWORK_TIMEOUT';

interface CheckResult {
  ok: boolean;
  failure?: FailureType;
  /** A retriable HTTP status: counts towards the unhealthy threshold instead of failing at once. */
  retriable?: boolean;
  degraded?: boolean;
}

/** Callbacks from the checker to whoever owns host health (the cluster's health state). */
export interface HealthCheckerHooks {
  /** A host's health flags changed. */
  changed(host: Host): void;
  /** A check passed (outlier detection may uneject the host). */
  passed?(host: Host): void;
  /** Whether the cluster has carried traffic (else the no-traffic interval applies). */
  trafficSeen(): boolean;
}

const sinks = new Map<string, { write(s: string): unknown }>();

function sink(path: string): { write(s: string): unknown } {
  if (path === '/dev/stdout') return process.stdout;
  if (path === '/dev/stderr') return process.stderr;
  let s = sinks.get(path);
  if (!s) {
    const w: WriteStream = createWriteStream(path, { flags: 'a' });
    w.on('error', (err) => console.error(`egts proxy: health check event log ${path}: ${err.message}`));
    sinks.set(path, (s = w));
  }
  return s;
}

/** One host's checking: timers, counters, and the connection kept between checks. */
class Session {
  timer: NodeJS.Timeout | undefined;
  firstCheck = true;
  numHealthy = 0;
  numUnhealthy = 0;
  stopped = false;
  /** Kept connection state (HTTP agent or HTTP/2 session) when connections are reused. */
  agent: http.Agent | undefined;
  h2: http2.ClientHttp2Session | undefined;

  constructor(readonly host: Host) {}

  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.agent?.destroy();
    this.h2?.destroy();
  }
}

export class HealthChecker {
  private readonly sessions = new Map<Host, Session>();
  private readonly logs: { write(s: string): unknown }[];

  constructor(private readonly cluster: Cluster, readonly settings: HealthCheckSettings, private readonly hooks: HealthCheckerHooks) {
    this.logs = settings.eventLogPaths.map(sink);
  }

  get type(): 'HTTP' | 'TCP' | 'GRPC' {
    return this.settings.check.kind;
  }

  /** New hosts start unhealthy (pending their first check); removed ones stop being checked. */
  hostsChanged(added: Host[], removed: Host[]): void {
    for (const h of removed) { this.sessions.get(h)?.close(); this.sessions.delete(h); }
    for (const h of added) {
      if (this.sessions.has(h)) continue;
      h.healthFlags |= HealthFlag.ActiveHcFailed | HealthFlag.PendingActiveHc;
      const s = new Session(h);
      this.sessions.set(h, s);
      const jitter = this.settings.initialJitterMs ? Math.floor(Math.random() * this.settings.initialJitterMs) : 0;
      s.timer = setTimeout(() => this.run(s), jitter);
      s.timer.unref();
    }
  }

  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
  }

  private run(s: Session): void {
    if (s.stopped) return;
    this.cluster.stats.health_check_attempt++;
    let done = false;
    const finish = (r: CheckResult) => {
      if (done || s.stopped) return;
      done = true;
      clearTimeout(timeout);
      if (r.ok) this.onSuccess(s, r.degraded ?? false);
      else this.onFailure(s, r.failure ?? 'ACTIVE', r.retriable ?? false);
    };
    let abort = () => {};
    const timeout = setTimeout(() => {
      abort();
      finish({ ok: false, failure: 'NETWORK_TIMEOUT' });
    }, this.settings.timeoutMs);
    timeout.unref();
    const c = this.settings.check;
    try {
      if (c.kind === 'HTTP') abort = c.http2 ? this.checkHttp2(s, c, finish) : this.checkHttp(s, c, finish);
      else if (c.kind === 'TCP') abort = this.checkTcp(s, c, finish);
      else abort = this.checkGrpc(s, c, finish);
    } catch {
      finish({ ok: false, failure: 'NETWORK' });
    }
  }

  private connect(host: Host, alpn: string[] | undefined): net.Socket {
    const cl = this.cluster;
    return connectUpstream({
      cluster: cl.settings, host, secrets: cl.secrets, authority: undefined, port: host.healthCheckPort || undefined,
      alpn: transportFor(cl.settings, host).tls ? (this.settings.alpn.length ? this.settings.alpn : alpn) : undefined,
    });
  }

  private authority(host: Host, configured: string): string {
    return configured || host.hostname || this.cluster.name;
  }

  private checkHttp(s: Session, c: HttpCheck, finish: (r: CheckResult) => void): () => void {
    const keepAlive = this.settings.reuseConnection;
    if (!s.agent) {
      const agent = new http.Agent({ keepAlive, maxSockets: 1 });
      (agent as unknown as { createConnection: () => net.Socket }).createConnection = () => this.connect(s.host, ['http/1.1']);
      s.agent = agent;
    }
    const headers: Record<string, string | string[]> = { host: this.authority(s.host, c.host), 'user-agent': 'Envoy/HC' };
    for (const h of c.headersToAdd) {
      const prev = headers[h.name];
      headers[h.name] = h.append && prev !== undefined ? ([] as string[]).concat(prev, h.value) : h.value;
    }
    for (const h of c.headersToRemove) if (h !== 'host') delete headers[h];
    if (c.send) headers['content-length'] = String(c.send.length);
    const req = http.request({ method: c.method, path: c.path, headers, agent: s.agent, setHost: false }, (res) => {
      const status = res.statusCode ?? 0;
      const body: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => { if (size < c.responseBufferSize) { body.push(d); size += d.length; } });
      res.on('error', () => finish({ ok: false, failure: 'NETWORK' }));
      res.on('end', () => {
        const degraded = res.headers['x-envoy-degraded'] !== undefined;
        if (inRanges(status, c.expectedStatuses)) {
          if (c.receive.length && !matchesInOrder(Buffer.concat(body).subarray(0, c.responseBufferSize), c.receive)) finish({ ok: false, failure: 'ACTIVE' });
          else finish({ ok: true, degraded });
        } else finish({ ok: false, failure: 'ACTIVE', retriable: inRanges(status, c.retriableStatuses) });
        if (!keepAlive) res.socket?.destroy();
      });
    });
    req.on('error', () => finish({ ok: false, failure: 'NETWORK' }));
    req.end(c.send);
    return () => { req.destroy(); s.agent?.destroy(); s.agent = undefined; };
  }

  private session2(s: Session): http2.ClientHttp2Session {
    if (s.h2 && !s.h2.closed && !s.h2.destroyed) return s.h2;
    const tls = transportFor(this.cluster.settings, s.host).tls !== undefined;
    const session = http2.connect(`${tls ? 'https' : 'http'}://localhost`, { createConnection: () => this.connect(s.host, ['h2']) });
    session.on('error', () => {});
    session.on('close', () => { if (s.h2 === session) s.h2 = undefined; });
    s.h2 = session;
    return session;
  }

  private checkHttp2(s: Session, c: HttpCheck, finish: (r: CheckResult) => void): () => void {
    const tls = transportFor(this.cluster.settings, s.host).tls !== undefined;
    const session = this.session2(s);
    const headers: http2.OutgoingHttpHeaders = { ':method': c.method, ':path': c.path, ':scheme': tls ? 'https' : 'http', ':authority': this.authority(s.host, c.host), 'user-agent': 'Envoy/HC' };
    for (const h of c.headersToAdd) headers[h.name] = h.value;
    for (const h of c.headersToRemove) delete headers[h];
    const stream = session.request(headers, { endStream: !c.send });
    if (c.send) stream.end(c.send);
    let status = 0;
    let degraded = false;
    const body: Buffer[] = [];
    let size = 0;
    stream.on('response', (h) => { status = Number(h[':status']); degraded = h['x-envoy-degraded'] !== undefined; });
    stream.on('data', (d: Buffer) => { if (size < c.responseBufferSize) { body.push(d); size += d.length; } });
    stream.on('error', () => finish({ ok: false, failure: 'NETWORK' }));
    stream.on('end', () => {
      if (!inRanges(status, c.expectedStatuses)) finish({ ok: false, failure: 'ACTIVE', retriable: inRanges(status, c.retriableStatuses) });
      else if (c.receive.length && !matchesInOrder(Buffer.concat(body).subarray(0, c.responseBufferSize), c.receive)) finish({ ok: false, failure: 'ACTIVE' });
      else finish({ ok: true, degraded });
      if (!this.settings.reuseConnection) { session.close(); s.h2 = undefined; }
    });
    return () => { stream.destroy(); session.destroy(); s.h2 = undefined; };
  }

  private checkGrpc(s: Session, c: GrpcCheck, finish: (r: CheckResult) => void): () => void {
    const tls = transportFor(this.cluster.settings, s.host).tls !== undefined;
    const session = this.session2(s);
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', ':scheme': tls ? 'https' : 'http',
      ':authority': this.authority(s.host, c.authority), 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'Envoy/HC',
    };
    for (const m of c.metadata) headers[m.name] = m.value;
    const stream = session.request(headers);
    stream.end(grpcFrame(healthCheckRequest(c.serviceName)));
    const body: Buffer[] = [];
    let grpcStatus: string | undefined;
    stream.on('response', (h) => { if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']); });
    stream.on('trailers', (t) => { if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']); });
    stream.on('data', (d: Buffer) => { body.push(d); });
    stream.on('error', () => finish({ ok: false, failure: 'NETWORK' }));
    stream.on('end', () => {
      if (grpcStatus !== '0') { finish({ ok: false, failure: 'ACTIVE' }); return; }
      // HealthCheckResponse.status (field 1): SERVING = 1.
      finish(servingStatus(Buffer.concat(body)) === 1 ? { ok: true } : { ok: false, failure: 'ACTIVE' });
      if (!this.settings.reuseConnection) { session.close(); s.h2 = undefined; }
    });
    return () => { stream.destroy(); session.destroy(); s.h2 = undefined; };
  }

  private checkTcp(s: Session, c: TcpCheck, finish: (r: CheckResult) => void): () => void {
    const tls = transportFor(this.cluster.settings, s.host).tls !== undefined;
    const socket = this.connect(s.host, undefined);
    let got = Buffer.alloc(0);
    socket.on('error', () => finish({ ok: false, failure: 'NETWORK' }));
    socket.on('close', () => finish({ ok: false, failure: 'NETWORK' }));
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      if (c.send) socket.write(c.send);
      // Without blocks to receive, a connection (and the send) is the check.
      if (!c.receive.length) { finish({ ok: true }); socket.destroy(); }
    });
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (matchesInOrder(got, c.receive)) { finish({ ok: true }); socket.destroy(); }
    });
    return () => socket.destroy();
  }

  private onSuccess(s: Session, degraded: boolean): void {
    const h = s.host;
    const stats = this.cluster.stats;
    let changed = false;
    let pending = false;
    if (h.healthFlags & HealthFlag.ActiveHcFailed) {
      if (s.firstCheck || ++s.numHealthy >= this.settings.healthyThreshold) {
        h.healthFlags &= ~HealthFlag.ActiveHcFailed;
        changed = true;
        this.event(h, { addHealthyEvent: { firstCheck: s.firstCheck } });
      } else pending = true;
    }
    if (h.healthFlags & HealthFlag.PendingActiveHc) { h.healthFlags &= ~HealthFlag.PendingActiveHc; changed = true; }
    const wasDegraded = (h.healthFlags & HealthFlag.DegradedActiveHc) !== 0;
    if (degraded !== wasDegraded) {
      if (degraded) { h.healthFlags |= HealthFlag.DegradedActiveHc; this.event(h, { degradedHealthyHost: {} }); }
      else { h.healthFlags &= ~HealthFlag.DegradedActiveHc; this.event(h, { noLongerDegradedHost: {} }); }
      changed = true;
    }
    stats.health_check_success++;
    if (this.settings.alwaysLogSuccess) this.event(h, { successfulHealthCheckEvent: {} });
    s.firstCheck = false;
    s.numUnhealthy = 0;
    if (changed) this.hooks.changed(h);
    this.hooks.passed?.(h);
    this.schedule(s, true, pending);
  }

  private onFailure(s: Session, type: FailureType, retriable: boolean): void {
    const h = s.host;
    const stats = this.cluster.stats;
    s.numHealthy = 0;
    let changed = false;
    let pending = false;
    if (!(h.healthFlags & HealthFlag.ActiveHcFailed)) {
      const counts = type !== 'ACTIVE' || retriable;
      if (counts && ++s.numUnhealthy < this.settings.unhealthyThreshold) pending = true;
      else {
        h.healthFlags |= HealthFlag.ActiveHcFailed;
        changed = true;
        this.event(h, { ejectUnhealthyEvent: { failureType: type } });
      }
    }
    if (h.healthFlags & HealthFlag.PendingActiveHc) { h.healthFlags &= ~HealthFlag.PendingActiveHc; changed = true; }
    if (s.firstCheck || this.settings.alwaysLogFailures) this.event(h, { healthCheckFailureEvent: { failureType: type, firstCheck: s.firstCheck } });
    stats.health_check_failure++;
    if (type === 'NETWORK' || type === 'NETWORK_TIMEOUT') stats.health_check_network_failure++;
    s.firstCheck = false;
    if (changed) this.hooks.changed(h);
    this.schedule(s, false, pending);
  }

  /** Envoy's interval choice, plus jitter. */
  private schedule(s: Session, healthy: boolean, pending: boolean): void {
    if (s.stopped) return;
    const t = this.settings;
    let base: number;
    if (!this.hooks.trafficSeen()) base = healthy && t.noTrafficHealthyIntervalMs ? t.noTrafficHealthyIntervalMs : t.noTrafficIntervalMs;
    else if (!healthy || s.host.healthFlags & HealthFlag.ActiveHcFailed) base = pending ? t.unhealthyEdgeIntervalMs : t.unhealthyIntervalMs;
    else base = pending ? t.healthyEdgeIntervalMs : t.intervalMs;
    let jitter = 0;
    if (t.intervalJitterPercent) jitter += Math.floor(Math.random() * ((t.intervalJitterPercent * base) / 100));
    if (t.intervalJitterMs) jitter += Math.floor(Math.random() * t.intervalJitterMs);
    s.timer = setTimeout(() => this.run(s), base + jitter);
    s.timer.unref();
  }

  private event(h: Host, detail: Record<string, unknown>): void {
    if (!this.logs.length) return;
    const host = h.pipe ? { pipe: { path: h.pipe } } : { socketAddress: { protocol: 'TCP', address: h.address, portValue: h.port } };
    const line = `${JSON.stringify({ healthCheckerType: this.type, host, clusterName: this.cluster.name, ...detail, timestamp: new Date().toISOString() })}\n`;
    for (const l of this.logs) l.write(line);
  }
}

function inRanges(status: number, ranges: [number, number][]): boolean {
  for (const [a, b] of ranges) if (status >= a && status < b) return true;
  return false;
}

/** Each block must be found, in order, though not necessarily next to each other. */
export function matchesInOrder(data: Buffer, blocks: Buffer[]): boolean {
  let from = 0;
  for (const b of blocks) {
    const i = data.indexOf(b, from);
    if (i < 0) return false;
    from = i + b.length;
  }
  return true;
}

function grpcFrame(msg: Buffer): Buffer {
  const f = Buffer.alloc(5 + msg.length);
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
}

/** grpc.health.v1.HealthCheckRequest { string service = 1; } */
function healthCheckRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0);
  const s = Buffer.from(service);
  return Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
}

/** grpc.health.v1.HealthCheckResponse.status from the first frame of a response body. */
function servingStatus(body: Buffer): number {
  if (body.length < 5) return 0;
  const len = body.readUInt32BE(1);
  const msg = body.subarray(5, 5 + len);
  let p = 0;
  while (p < msg.length) {
    const tag = msg[p++]!;
    if (tag === 0x08) {
      let v = 0;
      let shift = 0;
      while (p < msg.length) { const b = msg[p++]!; v |= (b & 0x7f) << shift; if (!(b & 0x80)) break; shift += 7; }
      return v;
    }
    // Skip other fields (varint or length-delimited).
    if ((tag & 7) === 0) { while (p < msg.length && msg[p++]! & 0x80); }
    else if ((tag & 7) === 2) { let l = 0; let sh = 0; while (p < msg.length) { const b = msg[p++]!; l |= (b & 0x7f) << sh; if (!(b & 0x80)) break; sh += 7; } p += l; }
    else return 0;
  }
  return 0;
}
