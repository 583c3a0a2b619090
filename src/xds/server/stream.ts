// What both ADS protocols share: one gRPC bidirectional stream per proxy, identified by the node
// of its first request; the stream follows the snapshots of its node's cluster (the IR key) and
// answers requests in order. Subclasses implement the protocol (sotw.ts, delta.ts).
import { type ServerDuplexStream, status } from '@grpc/grpc-js';
import type { SnapshotCache } from './cache.js';
import type { Nack, ProxyConnection, TypeStatus } from './connection.js';
import type { Node, Status } from './messages.js';
import type { Snapshot } from './snapshot.js';
import { TYPE_URL } from '../proto/index.js';

/** What a stream needs from its server. */
export interface StreamHost {
  readonly cache: SnapshotCache;
  opened(conn: ProxyConnection): void;
  closed(conn: ProxyConnection): void;
  acked(conn: ProxyConnection, type: TypeStatus): void;
  nacked(conn: ProxyConnection, nack: Nack): void;
  /** Diagnostics for requests the stream refuses or cannot decode. */
  warn(message: string): void;
}

/**
 * Order in which a new snapshot is pushed on an ADS stream: clusters and their endpoints before
 * the listeners and routes that refer to them (make before break), secrets last as they are
 * fetched by name by what came before. Other types follow in the order they were subscribed.
 */
export const PUSH_ORDER: readonly string[] = [TYPE_URL.cluster, TYPE_URL.endpoint, TYPE_URL.listener, TYPE_URL.route, TYPE_URL.secret];

export function pushOrder(types: Iterable<string>): string[] {
  return [...types].sort((a, b) => rank(a) - rank(b));
}

function rank(typeUrl: string): number {
  const i = PUSH_ORDER.indexOf(typeUrl);
  return i < 0 ? PUSH_ORDER.length : i;
}

let nextId = 1;

export abstract class AdsStream<Req extends { node?: Node }> {
  protected conn: ProxyConnection | undefined;
  private unwatch: (() => void) | undefined;
  private nonceCounter = 0;
  private closed = false;

  constructor(
    protected readonly host: StreamHost,
    protected readonly call: ServerDuplexStream<Buffer, Buffer>,
    private readonly protocol: 'sotw' | 'delta',
    private readonly decode: (bytes: Buffer) => Req,
  ) {
    call.on('data', (bytes: Buffer) => this.receive(bytes));
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
  }

  protected abstract handle(req: Req, snapshot: Snapshot | undefined): void;
  protected abstract push(snapshot: Snapshot): void;

  private receive(bytes: Buffer): void {
    if (this.closed) return;
    let req: Req;
    try {
      req = this.decode(bytes);
    } catch (err) {
      this.fail(status.INVALID_ARGUMENT, `malformed discovery request: ${(err as Error).message}`);
      return;
    }
    if (!this.conn) {
      const node = req.node;
      if (!node) {
        this.fail(status.INVALID_ARGUMENT, 'the first discovery request on a stream must carry the node');
        return;
      }
      this.conn = {
        id: nextId++,
        protocol: this.protocol,
        peer: this.call.getPeer(),
        nodeId: node.id ?? '',
        cluster: node.cluster ?? '',
        connectedAt: new Date(),
        types: new Map(),
      };
      this.host.opened(this.conn);
      this.unwatch = this.host.cache.watch(this.conn.cluster, (snapshot) => {
        if (!this.closed) this.push(snapshot);
      });
    }
    try {
      this.handle(req, this.host.cache.get(this.conn.cluster));
    } catch (err) {
      this.host.warn(`xds stream ${this.conn.id} (${this.conn.nodeId}): ${(err as Error).stack ?? String(err)}`);
      this.fail(status.INTERNAL, `control plane error: ${(err as Error).message}`);
    }
  }

  protected nonce(): string {
    return String(++this.nonceCounter);
  }

  protected send(bytes: Buffer): void {
    if (!this.closed) this.call.write(bytes);
  }

  /** Status of one type on this stream, created on first use. */
  protected status(typeUrl: string, subscribed: TypeStatus['subscribed']): TypeStatus {
    let t = this.conn!.types.get(typeUrl);
    if (!t) this.conn!.types.set(typeUrl, (t = { typeUrl, subscribed }));
    return t;
  }

  /** Records an ACK or a NACK of the response `t.sentNonce`. */
  protected answered(t: TypeStatus, version: string, error: Status | undefined): void {
    const conn = this.conn!;
    if (error) {
      const nack: Nack = {
        typeUrl: t.typeUrl,
        version: t.sentVersion ?? '',
        nonce: t.sentNonce ?? '',
        code: error.code ?? 0,
        message: error.message ?? '',
        at: new Date(),
      };
      t.lastNack = nack;
      this.host.nacked(conn, nack);
    } else {
      t.ackedVersion = version;
      t.ackedAt = new Date();
      this.host.acked(conn, t);
    }
  }

  protected fail(code: status, details: string): void {
    if (this.closed) return;
    this.host.warn(`xds stream${this.conn ? ` ${this.conn.id} (${this.conn.nodeId})` : ''}: ${details}`);
    this.call.emit('error', { code, details });
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    if (this.conn) this.host.closed(this.conn);
  }

  /** Ends the stream from the server side (shutdown). */
  end(): void {
    if (!this.closed) this.call.end();
    this.close();
  }
}
