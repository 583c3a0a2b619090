// The HTTP connection manager as a network filter: picks the codec for a connection (HTTP/2 by
// ALPN or by the client's connection preface, else HTTP/1.1) and hands it the socket.
import type { Json } from '../config/json.js';
import { registerNetworkFilter, type AcceptedConnection, type NetworkFilter, type NetworkFilterContext } from '../listener/network_filter.js';
import { compileHcm, type HcmConfig } from './hcm_config.js';
import { H1ServerConnection } from './h1_server.js';
import type { ConnectionContext } from './stream.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** HTTP/2 server sessions are created by http/h2_server.ts, which registers itself here. */
export let h2ServerHandler: ((c: AcceptedConnection, ctx: ConnectionContext, first: Buffer | undefined) => { drain(): void }) | undefined;
export function setH2ServerHandler(h: typeof h2ServerHandler): void {
  h2ServerHandler = h;
}

interface Drainable { drain(): void }

export class HcmFilter implements NetworkFilter {
  readonly terminal = true;
  private readonly connections = new Set<Drainable>();
  private draining = false;

  constructor(readonly config: HcmConfig, private readonly ctx: NetworkFilterContext) {}

  handle(c: AcceptedConnection): void {
    const ctx: ConnectionContext = { hcm: this.config, clusters: this.ctx.clusters, downstream: c.info, bufferLimit: c.bufferLimit };
    const codec = this.config.codecType;
    if (c.alpn === 'h2' || codec === 'HTTP2') { this.startH2(c, ctx, undefined); return; }
    if (codec === 'HTTP1' || c.alpn === 'http/1.1') { this.startH1(c, ctx, undefined); return; }
    // AUTO without ALPN: HTTP/2 with prior knowledge starts with the connection preface.
    const socket = c.socket;
    const onFirst = (d: Buffer) => {
      const n = Math.min(d.length, H2_PREFACE.length);
      if (d.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        if (d.length < H2_PREFACE.length) {
          // Wait for the whole preface before deciding.
          socket.once('data', (more: Buffer) => onFirst(Buffer.concat([d, more])));
          return;
        }
        this.startH2(c, ctx, d);
      } else this.startH1(c, ctx, d);
    };
    socket.once('data', onFirst);
  }

  private startH1(c: AcceptedConnection, ctx: ConnectionContext, first: Buffer | undefined): void {
    const conn = new H1ServerConnection(c.socket, ctx, (x) => this.connections.delete(x));
    this.connections.add(conn);
    if (this.draining) conn.drain();
    if (first) conn.feed(first);
  }

  private startH2(c: AcceptedConnection, ctx: ConnectionContext, first: Buffer | undefined): void {
    if (!h2ServerHandler) { c.socket.destroy(); return; }
    const session = h2ServerHandler(c, ctx, first);
    this.connections.add(session);
    c.socket.once('close', () => this.connections.delete(session));
    if (this.draining) session.drain();
  }

  drain(): void {
    this.draining = true;
    for (const c of this.connections) c.drain();
  }
}

registerNetworkFilter({
  configType: 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  create(config: Json, path: string, ctx: NetworkFilterContext) {
    return new HcmFilter(compileHcm(config, path, ctx), ctx);
  },
});
