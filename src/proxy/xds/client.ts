// The built-in proxy's ADS client: one gRPC stream to an xDS server, state of the world or delta.
// It subscribes to clusters and listeners (all of them) and to endpoints, routes and secrets by
// the names the applied configuration asks for; hands each response's resources to `apply`, then
// ACKs, or NACKs with the message `apply` (or decoding, or validation) gave, in which case the
// proxy keeps its last good configuration of that type. It reconnects with exponential backoff
// and, on a new stream, tells the server what it already holds.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { type ChannelCredentials, type ClientDuplexStream, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { TYPE_URL, toBinary } from '../../xds/proto/index.js';
import { AggregatedDiscoveryService } from '../../xds/server/server.js';
import { type DecodedResource, RejectedResponse, decodeDeltaResponse, decodeSotwResponse } from './responses.js';

export type { DecodedResource } from './responses.js';

/** What `apply` receives for one response. */
export interface ResourceUpdate {
  typeUrl: string;
  /** version_info (SotW) or system_version_info (delta). */
  version: string;
  /** SotW: every subscribed resource of the type (complete = true). Delta: the added or changed ones. */
  resources: DecodedResource[];
  /** Delta: names removed. SotW: always empty (absent from `resources` means removed). */
  removed: string[];
  /** true when `resources` is the whole state of the type (SotW). */
  complete: boolean;
}

/** Applies an update: resolves to nothing to ACK, or to an error message to NACK. */
export type ApplyFn = (update: ResourceUpdate) => Promise<string | undefined | void> | string | undefined | void;

export interface AdsClientOptions {
  /** `host:port` of the ADS server. */
  server: string;
  /** The node: its `cluster` names the IR key whose configuration we are served. */
  node: { id: string; cluster: string; [key: string]: unknown };
  protocol?: 'sotw' | 'delta';
  /** TLS to the server: CA to verify it, and a client certificate for mTLS. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
  /** Types subscribed to in full (default: clusters and listeners). */
  wildcardTypes?: string[];
  /** Check resources against Envoy's validation rules before applying (default true). */
  validate?: boolean;
  backoff?: { initialMs?: number; maxMs?: number };
  apply: ApplyFn;
}

export interface AdsClientEvents {
  connected: [];
  disconnected: [Error | undefined];
  ack: [string, string];
  nack: [string, string, string];
}

interface Subscription {
  typeUrl: string;
  wildcard: boolean;
  names: Set<string>;
  /** SotW: the version we last accepted, and the nonce of the last response. */
  acceptedVersion: string;
  nonce: string;
  /** Delta: versions of the resources we hold, sent as initial_resource_versions on reconnect. */
  held: Map<string, string>;
  /** Delta: names whose subscription changed since the last request. */
  pendingSubscribe: Set<string>;
  pendingUnsubscribe: Set<string>;
  /** Whether this stream already sent the first request of this type. */
  requested: boolean;
}

const Client = makeGenericClientConstructor(AggregatedDiscoveryService, 'AggregatedDiscoveryService');

const REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';
const DELTA_REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
/** google.rpc.Code INVALID_ARGUMENT, what Envoy puts in a NACK. */
const INVALID_ARGUMENT = 3;

function channelCredentials(tls: AdsClientOptions['tls']): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  const read = (f: string | undefined) => (f ? readFileSync(f) : null);
  return credentials.createSsl(read(tls.caFile), read(tls.keyFile), read(tls.certFile));
}

export class AdsClient extends EventEmitter<AdsClientEvents> {
  private readonly protocol: 'sotw' | 'delta';
  private readonly client: InstanceType<typeof Client>;
  private readonly subs = new Map<string, Subscription>();
  private stream: ClientDuplexStream<Buffer, Buffer> | undefined;
  private nodeSent = false;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  /** Responses are applied one at a time, in the order they arrive. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: AdsClientOptions) {
    super();
    this.protocol = options.protocol ?? 'sotw';
    this.backoffMs = options.backoff?.initialMs ?? 250;
    const channelOptions: Record<string, string | number> = { 'grpc.max_receive_message_length': -1 };
    if (options.tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
    this.client = new Client(options.server, channelCredentials(options.tls), channelOptions);
    for (const typeUrl of options.wildcardTypes ?? [TYPE_URL.cluster, TYPE_URL.listener]) this.subscription(typeUrl).wildcard = true;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }

  /**
   * Sets the names subscribed to for a type (endpoints of the EDS clusters, routes of the
   * listeners, secrets by name): the applied configuration calls this as it changes.
   */
  subscribe(typeUrl: string, names: Iterable<string>): void {
    const sub = this.subscription(typeUrl);
    const next = new Set(names);
    let changed = false;
    for (const n of next) if (!sub.names.has(n)) { sub.pendingSubscribe.add(n); sub.pendingUnsubscribe.delete(n); changed = true; }
    for (const n of sub.names) if (!next.has(n)) { sub.pendingUnsubscribe.add(n); sub.pendingSubscribe.delete(n); sub.held.delete(n); changed = true; }
    sub.names = next;
    if (changed && this.stream) this.request(sub);
  }

  private subscription(typeUrl: string): Subscription {
    let sub = this.subs.get(typeUrl);
    if (!sub) {
      sub = {
        typeUrl, wildcard: false, names: new Set(), acceptedVersion: '', nonce: '', held: new Map(),
        pendingSubscribe: new Set(), pendingUnsubscribe: new Set(), requested: false,
      };
      this.subs.set(typeUrl, sub);
    }
    return sub;
  }

  private connect(): void {
    if (this.stopped) return;
    const method = this.protocol === 'delta' ? 'DeltaAggregatedResources' : 'StreamAggregatedResources';
    const stream = (this.client as unknown as Record<string, () => ClientDuplexStream<Buffer, Buffer>>)[method]!.call(this.client);
    this.stream = stream;
    this.nodeSent = false;
    let failed = false;
    const lost = (err: Error | undefined) => {
      if (failed || this.stream !== stream) return;
      failed = true;
      this.stream = undefined;
      this.emit('disconnected', err);
      this.scheduleReconnect();
    };
    stream.on('data', (bytes: Buffer) => {
      this.backoffMs = this.options.backoff?.initialMs ?? 250;
      this.queue = this.queue.then(() => this.receive(bytes, stream)).catch((err: unknown) => {
        this.emit('disconnected', err instanceof Error ? err : new Error(String(err)));
      });
    });
    stream.on('error', (err: Error) => lost(err));
    stream.on('end', () => lost(undefined));
    for (const sub of this.subs.values()) {
      sub.requested = false;
      sub.nonce = '';
      // A new stream re-subscribes from scratch: pending changes are folded into the full request.
      sub.pendingSubscribe.clear();
      sub.pendingUnsubscribe.clear();
      if (sub.wildcard || sub.names.size) this.request(sub);
    }
    this.emit('connected');
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const max = this.options.backoff?.maxMs ?? 30_000;
    const delay = Math.min(max, this.backoffMs) * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(max, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private write(type: string, message: Record<string, unknown>): void {
    if (!this.stream) return;
    if (!this.nodeSent) {
      message['node'] = this.options.node;
      this.nodeSent = true;
    }
    this.stream.write(Buffer.from(toBinary(type, message)));
  }

  /** The request that (re)states a subscription, or ACKs/NACKs the last response. */
  private request(sub: Subscription, answer?: { nonce: string; error?: string }): void {
    if (this.protocol === 'sotw') {
      const msg: Record<string, unknown> = {
        typeUrl: sub.typeUrl,
        versionInfo: sub.acceptedVersion,
        resourceNames: sub.wildcard ? [] : [...sub.names],
        responseNonce: answer ? answer.nonce : sub.nonce,
      };
      if (answer?.error !== undefined) msg['errorDetail'] = { code: INVALID_ARGUMENT, message: answer.error };
      sub.pendingSubscribe.clear();
      sub.pendingUnsubscribe.clear();
      sub.requested = true;
      this.write(REQUEST, msg);
      return;
    }
    const msg: Record<string, unknown> = { typeUrl: sub.typeUrl };
    if (!sub.requested) {
      // First request of this type on this stream: the whole subscription, and what we hold.
      msg['resourceNamesSubscribe'] = sub.wildcard ? ['*', ...sub.names] : [...sub.names];
      if (sub.held.size) msg['initialResourceVersions'] = Object.fromEntries(sub.held);
    } else {
      if (sub.pendingSubscribe.size) msg['resourceNamesSubscribe'] = [...sub.pendingSubscribe];
      if (sub.pendingUnsubscribe.size) msg['resourceNamesUnsubscribe'] = [...sub.pendingUnsubscribe];
    }
    sub.pendingSubscribe.clear();
    sub.pendingUnsubscribe.clear();
    if (answer) msg['responseNonce'] = answer.nonce;
    if (answer?.error !== undefined) msg['errorDetail'] = { code: INVALID_ARGUMENT, message: answer.error };
    sub.requested = true;
    this.write(DELTA_REQUEST, msg);
  }

  private async receive(bytes: Buffer, stream: ClientDuplexStream<Buffer, Buffer>): Promise<void> {
    if (this.stream !== stream) return; // from a stream we already left
    const check = this.options.validate !== false;
    let update: ResourceUpdate;
    let nonce: string;
    try {
      if (this.protocol === 'sotw') {
        const res = decodeSotwResponse(bytes, check);
        nonce = res.nonce;
        update = { typeUrl: res.typeUrl, version: res.versionInfo, resources: res.resources, removed: [], complete: true };
      } else {
        const res = decodeDeltaResponse(bytes, check);
        nonce = res.nonce;
        update = { typeUrl: res.typeUrl, version: res.systemVersionInfo, resources: res.resources, removed: res.removed, complete: false };
      }
    } catch (err) {
      if (!(err instanceof RejectedResponse)) throw err;
      this.reject(this.subscription(err.typeUrl), err.nonce, err.versionInfo, err.message);
      return;
    }
    const sub = this.subscription(update.typeUrl);
    let error: string | undefined;
    try {
      error = (await this.options.apply(update)) ?? undefined;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (this.stream !== stream) return;
    if (error !== undefined) {
      this.reject(sub, nonce, update.version, error);
      return;
    }
    sub.nonce = nonce;
    sub.acceptedVersion = update.version;
    if (update.complete) {
      sub.held = new Map(update.resources.map((r) => [r.name, r.version ?? '']));
    } else {
      for (const r of update.resources) sub.held.set(r.name, r.version ?? '');
      for (const n of update.removed) sub.held.delete(n);
    }
    this.request(sub, { nonce });
    this.emit('ack', update.typeUrl, update.version);
  }

  private reject(sub: Subscription, nonce: string, version: string, message: string): void {
    sub.nonce = nonce;
    this.request(sub, { nonce, error: message });
    this.emit('nack', sub.typeUrl, version, message);
  }

  /** What the client holds, per type: accepted version and resource names. */
  state(): Array<{ typeUrl: string; version: string; names: string[] }> {
    return [...this.subs.values()].map((s) => ({ typeUrl: s.typeUrl, version: s.acceptedVersion, names: [...s.held.keys()] }));
  }
}
