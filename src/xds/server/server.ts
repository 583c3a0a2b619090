// The xDS server: envoy.service.discovery.v3.AggregatedDiscoveryService over gRPC, both
// StreamAggregatedResources (state of the world) and DeltaAggregatedResources (incremental),
// serving each proxy the snapshot of its node's cluster (the IR key). Plain TCP, TLS, or mTLS
// (client certificates required and checked against a CA) through grpc-js credentials.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { SnapshotCache } from './cache.js';
import type { Nack, ProxyConnection, TypeStatus, XdsServerEvents } from './connection.js';
import { DeltaStream } from './delta.js';
import { SotwStream } from './sotw.js';
import type { Node } from './messages.js';
import type { AdsStream, StreamHost } from './stream.js';

const SERVICE = '/envoy.service.discovery.v3.AggregatedDiscoveryService';

const passThrough = (b: Buffer): Buffer => b;
const method = (name: string) => ({
  path: `${SERVICE}/${name}`,
  requestStream: true,
  responseStream: true,
  requestSerialize: passThrough,
  requestDeserialize: passThrough,
  responseSerialize: passThrough,
  responseDeserialize: passThrough,
});

/** The ADS service with raw bytes on both sides: messages are encoded by our own codec. */
export const AggregatedDiscoveryService: ServiceDefinition = {
  StreamAggregatedResources: method('StreamAggregatedResources'),
  DeltaAggregatedResources: method('DeltaAggregatedResources'),
};

export interface TlsOptions {
  /** PEM certificate chain and key of the server. */
  certFile: string;
  keyFile: string;
  /** PEM CA bundle: when set, clients must present a certificate it signed (mTLS). */
  caFile?: string;
}

export interface XdsServerOptions {
  tls?: TlsOptions;
  /** Where to report streams refused or failing (default: console.warn). */
  warn?: (message: string) => void;
}

export function serverCredentials(tls: TlsOptions | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.caFile ? readFileSync(tls.caFile) : null;
  return ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }], ca !== null);
}

export class XdsServer extends EventEmitter<XdsServerEvents> implements StreamHost {
  readonly cache: SnapshotCache;
  private readonly grpc = new Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  private readonly streams = new Set<AdsStream<{ node?: Node }>>();
  private readonly live = new Map<number, ProxyConnection>();
  private readonly warnFn: (message: string) => void;

  constructor(private readonly options: XdsServerOptions = {}, cache = new SnapshotCache()) {
    super();
    this.cache = cache;
    this.warnFn = options.warn ?? ((m) => console.warn(m));
    this.grpc.addService(AggregatedDiscoveryService, {
      StreamAggregatedResources: (call: ServerDuplexStream<Buffer, Buffer>) => this.track(new SotwStream(this, call), call),
      DeltaAggregatedResources: (call: ServerDuplexStream<Buffer, Buffer>) => this.track(new DeltaStream(this, call), call),
    });
  }

  private track(stream: AdsStream<{ node?: Node }>, call: ServerDuplexStream<Buffer, Buffer>): void {
    this.streams.add(stream);
    call.on('close', () => this.streams.delete(stream));
  }

  /** Listens on `host:port` (port 0 picks one); resolves with the bound port. */
  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.grpc.bindAsync(address, serverCredentials(this.options.tls), (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /** Ends every stream and stops listening. */
  close(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    return new Promise((resolve) => {
      this.grpc.tryShutdown(() => resolve());
      setTimeout(() => {
        this.grpc.forceShutdown();
        resolve();
      }, 1000).unref();
    });
  }

  /** The proxies connected now, with what each was sent, ACKed and NACKed. */
  connections(): ProxyConnection[] {
    return [...this.live.values()];
  }

  // ---- StreamHost ----

  opened(conn: ProxyConnection): void {
    this.live.set(conn.id, conn);
    this.emit('connect', conn);
  }

  closed(conn: ProxyConnection): void {
    if (this.live.delete(conn.id)) this.emit('disconnect', conn);
  }

  acked(conn: ProxyConnection, type: TypeStatus): void {
    this.emit('ack', conn, type);
  }

  nacked(conn: ProxyConnection, nack: Nack): void {
    this.emit('nack', conn, nack);
  }

  warn(message: string): void {
    this.warnFn(message);
  }
}
