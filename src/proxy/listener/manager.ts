// The listener manager: binds a socket per listener, keeps it across updates that leave the
// address alone (new connections use the new filter chains while existing ones finish and
// drain), closes removed listeners after draining their connections, and runs each accepted
// connection through the listener filters (TLS inspector) to its filter chain.
import net from 'node:net';
import type tls from 'node:tls';
import type { ConfigProblem } from '../config/errors.js';
import type { DownstreamInfo } from '../http/stream_info.js';
import { parseSans } from '../tls/verify.js';
import { selectChain } from './filter_chain.js';
import type { FilterChain, ListenerConfig } from './listener_config.js';
import { inspectClientHello } from './tls_inspector.js';
import type { UdpListenerHandle } from './network_filter.js';
import { readProxyProtocol } from '../tcp/proxy_protocol.js';
import { ListenerStats, listenerStatName } from '../stats/listener_stats.js';
import { ownedStats } from '../stats.js';
import { ConnectionInfo } from './connection_info.js';

/** Hooks for listener kinds implemented elsewhere (UDP, PROXY protocol). */
export interface ListenerExtensions {
  /** Binds and runs a UDP listener (default: its udp_proxy filter binds the address). */
  udp?(config: ListenerConfig): Promise<UdpListenerHandle>;
  /** Reads a PROXY protocol header; resolves with the addresses it carried (or undefined for none). Default: tcp/proxy_protocol.ts. */
  proxyProtocol?(socket: net.Socket, allowWithout: boolean, timeoutMs: number): Promise<{ remoteAddress: string; remotePort: number; localAddress: string; localPort: number } | undefined>;
}

export interface ListenerManagerOptions {
  /** How long removed listeners and changed filter chains get to finish their requests. */
  drainTimeoutMs: number;
  extensions?: ListenerExtensions;
  /** Called with the socket server so that worker processes can share it (operations). */
  listen?(server: net.Server, config: ListenerConfig): Promise<void>;
}

class ActiveListener {
  readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  private udp: UdpListenerHandle | undefined;
  private stats: ListenerStats | undefined;

  constructor(public config: ListenerConfig, private readonly opts: ListenerManagerOptions) {}

  get boundPort(): number {
    if (this.udp) return this.udp.boundPort;
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.config.port;
  }

  async start(): Promise<void> {
    const c = this.config;
    if (c.protocol === 'UDP') {
      this.udp = this.opts.extensions?.udp ? await this.opts.extensions.udp(c) : await c.udp!.start(c);
      return;
    }
    const server = (this.server = net.createServer({ pauseOnConnect: false, noDelay: true }, (s) => this.onConnection(s)));
    server.on('error', () => {});
    if (this.opts.listen) { await this.opts.listen(server, c); return; }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => { server.removeListener('error', reject); resolve(); };
      if (c.pipe) server.listen(c.pipe, done);
      else server.listen({ host: c.address === '::' || c.address === '0.0.0.0' ? c.address : c.address, port: c.port, ipv6Only: false }, done);
    });
    const name = listenerStatName(c.address, this.boundPort, c.pipe, c.statPrefix);
    this.stats = ownedStats(() => new ListenerStats(name));
  }

  update(next: ListenerConfig): void {
    const old = this.config;
    this.config = next;
    if (this.udp) { this.udp.update(next); return; }
    // Chains whose config did not change keep serving; the others drain.
    const kept = new Set([...next.chains, next.defaultChain].filter(Boolean) as FilterChain[]);
    for (const ch of [...old.chains, old.defaultChain]) if (ch && !kept.has(ch)) for (const f of ch.filters) f.drain?.();
  }

  async close(drainMs: number): Promise<void> {
    if (this.udp) { await this.udp.close(); return; }
    const server = this.server;
    if (!server) return;
    // Stop accepting now; server.close's callback would wait for every connection to end.
    server.close();
    for (const ch of [...this.config.chains, this.config.defaultChain]) if (ch) for (const f of ch.filters) f.drain?.();
    if (this.sockets.size) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, drainMs);
        t.unref();
        const check = setInterval(() => { if (!this.sockets.size) { clearTimeout(t); clearInterval(check); resolve(); } }, 50);
        check.unref();
      });
      for (const s of this.sockets) s.destroy();
    }
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.add(socket);
    const st = this.stats;
    st?.connected();
    const c = this.config;
    const info: DownstreamInfo = {
      remoteAddress: normalizeAddr(socket.remoteAddress ?? ''),
      remotePort: socket.remotePort ?? 0,
      localAddress: normalizeAddr(socket.localAddress ?? ''),
      localPort: socket.localPort ?? 0,
      serverName: '',
      tls: false,
    };
    // Listener access logs see every connection when it closes.
    if (c.keepalive) socket.setKeepAlive(true, c.keepalive.idleMs);
    const log = c.accessLogs.length ? new ConnectionInfo(info) : undefined;
    if (log) connectionLogs.set(socket, log);
    socket.once('close', () => {
      this.sockets.delete(socket);
      st?.closed();
      if (log) {
        log.bytesReceived = socket.bytesRead;
        log.bytesSent = socket.bytesWritten;
        for (const l of c.accessLogs) l.log(log);
      }
    });
    socket.on('error', () => {});
    if (c.proxyProtocol) {
      (this.opts.extensions?.proxyProtocol ?? readProxyProtocol)(socket, c.proxyProtocol.allowRequestsWithoutProxyProtocol, c.listenerFiltersTimeoutMs).then((addrs) => {
        if (addrs) Object.assign(info, addrs);
        this.inspect(socket, info, c);
      }, () => { if (st) st.downstream_listener_filter_error.value++; socket.destroy(); });
      return;
    }
    this.inspect(socket, info, c);
  }

  private inspect(socket: net.Socket, info: DownstreamInfo, c: ListenerConfig): void {
    if (!c.tlsInspector) {
      // Without the TLS inspector a TLS chain can still be chosen (no SNI): give the handshake the socket.
      this.dispatch(socket, info, c, undefined, 'raw_buffer', []);
      return;
    }
    let buf: Buffer | undefined;
    const timer = setTimeout(() => {
      socket.removeListener('data', onData);
      if (c.continueOnListenerFiltersTimeout) { socket.pause(); if (buf) socket.unshift(buf); if (!this.dispatch(socket, info, c, undefined, 'raw_buffer', [])) socket.resume(); }
      else socket.destroy();
    }, c.listenerFiltersTimeoutMs);
    const onData = (d: Buffer) => {
      buf = buf ? Buffer.concat([buf, d]) : d;
      const r = inspectClientHello(buf);
      if (r.kind === 'need-more') return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.pause();
      socket.unshift(buf);
      let wrapped: boolean;
      if (r.kind === 'tls') {
        info.serverName = r.serverName;
        wrapped = this.dispatch(socket, info, c, r.serverName, 'tls', r.alpn);
      } else wrapped = this.dispatch(socket, info, c, undefined, 'raw_buffer', []);
      // A TLS socket now owns the handle and reads the buffered ClientHello itself; resuming
      // the raw socket would hand those bytes to nobody.
      if (!wrapped) socket.resume();
    };
    socket.on('data', onData);
  }

  /** Returns true when the socket was handed to TLS (which then reads it). */
  private dispatch(socket: net.Socket, info: DownstreamInfo, c: ListenerConfig, sni: string | undefined, transport: string, alpn: string[]): boolean {
    const chain = selectChain(c.chains, {
      localPort: info.localPort,
      localAddress: info.localAddress,
      serverName: sni ?? '',
      transportProtocol: transport,
      applicationProtocols: alpn,
      remoteAddress: info.remoteAddress,
      remotePort: info.remotePort,
    }) ?? c.defaultChain;
    if (!chain) {
      if (this.stats) this.stats.no_filter_chain_match.value++;
      const log = connectionLogs.get(socket);
      if (log) log.responseFlags = 'NR';
      socket.destroy();
      return false;
    }
    const accepted = { socket, info, alpn: '', bufferLimit: c.bufferLimit };
    for (const f of chain.filters) {
      if (!f.onAccept) continue;
      const r = f.onAccept(accepted);
      if (r === true) continue;
      if (r === false) socket.destroy();
      return false;
    }
    if (!chain.tls) { chain.terminal.handle!(accepted); return false; }
    if (!chain.tls.ready()) { socket.destroy(); return false; }
    let ts: tls.TLSSocket;
    try {
      ts = chain.tls.wrap(socket, sni ?? '', alpn);
    } catch {
      socket.destroy();
      return false;
    }
    ts.on('error', () => ts.destroy());
    const hsTimer = setTimeout(() => ts.destroy(), c.listenerFiltersTimeoutMs);
    ts.once('secure', () => {
      clearTimeout(hsTimer);
      const reject = chain.tls!.checkClient(ts);
      if (reject) { ts.destroy(); return; }
      info.tls = true;
      // Without a tls.Server nothing marks the server socket as established; consumers (HTTP/2)
      // wait for it otherwise.
      (ts as unknown as { secureConnecting: boolean }).secureConnecting = false;
      const peer = ts.getPeerCertificate();
      if (peer && peer.raw) {
        const sans = parseSans(peer.subjectaltname ?? '');
        info.peerCertificate = { subject: formatSubject(peer.subject), uriSans: sans.URI, dnsSans: sans.DNS, raw: peer.raw };
      }
      chain.terminal.handle!({ socket: ts, info, alpn: typeof ts.alpnProtocol === 'string' ? ts.alpnProtocol : '', bufferLimit: c.bufferLimit });
    });
    return true;
  }
}

/** The access log record of connections on listeners that log. */
const connectionLogs = new WeakMap<net.Socket, ConnectionInfo>();

function formatSubject(s: unknown): string {
  if (!s || typeof s !== 'object') return '';
  return Object.entries(s as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
}

function normalizeAddr(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export class ListenerManager {
  private readonly active = new Map<string, ActiveListener>();

  constructor(private readonly opts: ListenerManagerOptions) {}

  /** The port a listener is bound to (useful when configured with port 0). */
  boundPort(name: string): number | undefined {
    return this.active.get(name)?.boundPort;
  }

  names(): string[] {
    return [...this.active.keys()];
  }

  config(name: string): ListenerConfig | undefined {
    return this.active.get(name)?.config;
  }

  /**
   * Makes the set of listeners equal to `next`: unchanged ones stay, changed ones are updated in
   * place (same address) or rebound, removed ones drain. Bind failures come back as problems and
   * leave the previous listener (if any) in place.
   */
  async apply(next: Map<string, ListenerConfig>): Promise<ConfigProblem[]> {
    const problems: ConfigProblem[] = [];
    for (const [name, a] of this.active) {
      if (!next.has(name)) {
        this.active.delete(name);
        void a.close(this.opts.drainTimeoutMs);
      }
    }
    for (const [name, c] of next) {
      const a = this.active.get(name);
      if (a && a.config.source === c.source) continue;
      if (a && a.config.address === c.address && a.config.port === c.port && a.config.pipe === c.pipe && a.config.protocol === c.protocol) {
        a.update(c);
        continue;
      }
      const fresh = new ActiveListener(c, this.opts);
      if (a) {
        // The address changed: the old socket must go first when it is the same port.
        this.active.delete(name);
        await a.close(0);
      }
      try {
        await fresh.start();
        this.active.set(name, fresh);
      } catch (err) {
        problems.push({ kind: 'Listener', name, field: 'address', message: `cannot listen on ${c.pipe ?? `${c.address}:${c.port}`}: ${(err as Error).message}` });
      }
    }
    return problems;
  }

  async close(drainMs = 0): Promise<void> {
    const all = [...this.active.values()];
    this.active.clear();
    await Promise.all(all.map((a) => a.close(drainMs)));
  }
}
