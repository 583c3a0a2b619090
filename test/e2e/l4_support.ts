// Support for the L4 end-to-end tests: TCP/UDP listeners in the shape Envoy Gateway's translator
// writes them (tcp_proxy and udp_proxy filters, TLS inspector, PROXY protocol), and small TCP,
// TLS and UDP clients.
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';

export const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
export const PROXY_PROTOCOL = { name: 'envoy.filters.listener.proxy_protocol', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol' } };

export function tcpProxy(cluster: string, statPrefix: string, extra: object = {}): object {
  return { name: 'envoy.filters.network.tcp_proxy', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', cluster, statPrefix, ...extra } };
}

export interface Chain { name: string; filters: object[]; serverNames?: string[]; tls?: { cert: string; key: string } }

export function tcpListener(name: string, chains: Chain[], opts: { listenerFilters?: object[]; port?: number } = {}): object {
  return {
    name,
    address: { socketAddress: { address: '127.0.0.1', portValue: opts.port ?? 0 } },
    filterChains: chains.map((c) => ({
      name: c.name,
      filters: c.filters,
      ...(c.serverNames ? { filterChainMatch: { serverNames: c.serverNames } } : {}),
      ...(c.tls ? { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        commonTlsContext: { tlsCertificates: [{ certificateChain: { inlineString: c.tls.cert }, privateKey: { inlineString: c.tls.key } }] },
        disableStatefulSessionResumption: true, disableStatelessSessionResumption: true,
      } } } : {}),
    })),
    ...(opts.listenerFilters ? { listenerFilters: opts.listenerFilters } : {}),
    maxConnectionsToAcceptPerSocketEvent: 1,
    perConnectionBufferLimitBytes: 32768,
  };
}

export function udpListener(name: string, cluster: string, extra: object = {}): object {
  return {
    name,
    address: { socketAddress: { address: '127.0.0.1', portValue: 0, protocol: 'UDP' } },
    listenerFilters: [{ name: 'envoy.filters.udp_listener.udp_proxy', typedConfig: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig',
      matcher: { onNoMatch: { action: { name: 'route', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route', cluster } } } },
      statPrefix: 'service',
      ...extra,
    } }],
  };
}

/** A connected TCP (or TLS) client that collects what it receives. */
export interface Conn {
  socket: net.Socket;
  received(): string;
  /** Resolves once the received text contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<string>;
  /** Resolves when the connection closed, with everything received. */
  closed(timeoutMs?: number): Promise<string>;
}

function wrap(socket: net.Socket): Conn {
  let got = '';
  let isClosed = false;
  const waiters: (() => void)[] = [];
  socket.on('data', (d) => { got += d.toString(); for (const w of waiters.splice(0)) w(); });
  socket.on('close', () => { isClosed = true; for (const w of waiters.splice(0)) w(); });
  socket.on('error', () => {});
  const wait = (done: () => boolean, what: string, timeoutMs: number) => new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(got)}`)), timeoutMs);
    const check = () => {
      if (done()) { clearTimeout(timer); resolve(got); return; }
      if (isClosed) { clearTimeout(timer); reject(new Error(`connection closed waiting for ${what}; got ${JSON.stringify(got)}`)); return; }
      waiters.push(check);
    };
    check();
  });
  return {
    socket,
    received: () => got,
    waitFor: (text, timeoutMs = 5000) => wait(() => got.includes(text), JSON.stringify(text), timeoutMs),
    closed: (timeoutMs = 5000) => new Promise<string>((resolve, reject) => {
      if (isClosed) { resolve(got); return; }
      const timer = setTimeout(() => reject(new Error(`connection still open; got ${JSON.stringify(got)}`)), timeoutMs);
      socket.once('close', () => { clearTimeout(timer); resolve(got); });
    }),
  };
}

export function tcpConnect(port: number, first?: string | Buffer): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { s.removeListener('error', reject); if (first !== undefined) s.write(first); resolve(c); });
    const c = wrap(s);
    s.once('error', reject);
  });
}

export function tlsConnect(port: number, servername: string, ca?: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: ca !== undefined }, () => { s.removeListener('error', reject); resolve(c); });
    const c = wrap(s);
    s.once('error', reject);
  });
}

/** Sends datagrams from one client socket and collects the replies. */
export class UdpClient {
  readonly socket = dgram.createSocket('udp4');
  readonly replies: string[] = [];
  private waiters: (() => void)[] = [];
  constructor(private readonly port: number) {
    this.socket.on('message', (m) => { this.replies.push(m.toString()); for (const w of this.waiters.splice(0)) w(); });
  }
  send(text: string): void {
    this.socket.send(text, this.port, '127.0.0.1');
  }
  /** Waits until `n` replies arrived. */
  waitReplies(n: number, timeoutMs = 3000): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`got ${this.replies.length} of ${n} UDP replies: ${JSON.stringify(this.replies)}`)), timeoutMs);
      const check = () => { if (this.replies.length >= n) { clearTimeout(timer); resolve(this.replies); } else this.waiters.push(check); };
      check();
    });
  }
  close(): void {
    this.socket.close();
  }
}
