// State-of-the-world ADS (StreamAggregatedResources), as Envoy speaks it: each response carries the
// complete set of the subscribed resources of one type with a version and a nonce; the proxy
// answers with the nonce and either the new version (ACK) or its previous one plus error_detail
// (NACK). A request whose nonce is not the latest we sent for its type is stale and ignored. An
// empty list of names (or "*") subscribes to every resource of the type.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { TypeStatus } from './connection.js';
import { type DiscoveryRequest, decodeDiscoveryRequest, encodeDiscoveryResponse } from './messages.js';
import type { Snapshot, TypeResources } from './snapshot.js';
import { AdsStream, type StreamHost, pushOrder } from './stream.js';

interface Subscription {
  status: TypeStatus;
  /** undefined: wildcard. */
  names: Set<string> | undefined;
}

const EMPTY: TypeResources = { typeUrl: '', version: 'empty', resources: new Map() };

function sameNames(a: Set<string> | undefined, b: Set<string> | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

export class SotwStream extends AdsStream<DiscoveryRequest> {
  private readonly subs = new Map<string, Subscription>();

  constructor(host: StreamHost, call: ServerDuplexStream<Buffer, Buffer>) {
    super(host, call, 'sotw', decodeDiscoveryRequest);
  }

  protected handle(req: DiscoveryRequest, snapshot: Snapshot | undefined): void {
    const typeUrl = req.typeUrl;
    if (!typeUrl) return;
    const requested = req.resourceNames ?? [];
    const names = requested.length === 0 || requested.includes('*') ? undefined : new Set(requested);
    let sub = this.subs.get(typeUrl);
    if (req.responseNonce) {
      // An answer to one of our responses. Only the latest counts: an older one was overtaken.
      if (!sub || req.responseNonce !== sub.status.sentNonce) return;
      this.answered(sub.status, req.versionInfo ?? '', req.errorDetail);
      const changed = !sameNames(sub.names, names);
      sub.names = names;
      sub.status.subscribed = names ? [...names] : '*';
      // A NACK is not answered with the same content again; a change of names is answered.
      if (changed && snapshot) this.respond(sub, snapshot);
      return;
    }
    // A new subscription on this stream (first request, or the proxy's state after reconnecting).
    if (!sub) {
      sub = { status: this.status(typeUrl, names ? [...names] : '*'), names };
      this.subs.set(typeUrl, sub);
    } else {
      sub.names = names;
      sub.status.subscribed = names ? [...names] : '*';
    }
    if (!snapshot) return; // a late proxy: answered when its first snapshot is set
    const current = snapshot.types.get(typeUrl) ?? EMPTY;
    // A proxy that already holds the current version (reconnecting) gets nothing new, unless a
    // response is needed to complete its subscription.
    if (req.versionInfo && req.versionInfo === current.version && sub.status.sentNonce === undefined && !names) {
      sub.status.sentVersion = current.version;
      return;
    }
    this.respond(sub, snapshot);
  }

  protected push(snapshot: Snapshot): void {
    for (const typeUrl of pushOrder(this.subs.keys())) {
      const sub = this.subs.get(typeUrl)!;
      const current = snapshot.types.get(typeUrl) ?? EMPTY;
      if (current.version !== sub.status.sentVersion) this.respond(sub, snapshot);
    }
  }

  private respond(sub: Subscription, snapshot: Snapshot): void {
    const typeUrl = sub.status.typeUrl;
    const current = snapshot.types.get(typeUrl) ?? EMPTY;
    const chunks: Uint8Array[] = [];
    if (sub.names) {
      for (const name of sub.names) {
        const r = current.resources.get(name);
        if (r) chunks.push(r.sotwChunk);
      }
    } else {
      for (const r of current.resources.values()) chunks.push(r.sotwChunk);
    }
    const nonce = this.nonce();
    sub.status.sentVersion = current.version;
    sub.status.sentNonce = nonce;
    this.send(encodeDiscoveryResponse(current.version, typeUrl, nonce, chunks));
  }
}
