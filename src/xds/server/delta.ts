// Incremental ADS (DeltaAggregatedResources): responses carry only the resources that changed
// since what the proxy has (by per-resource version) and the names of those removed. The proxy
// subscribes and unsubscribes by name ("*" for all; an empty first request is the legacy
// wildcard), reports what it already holds in initial_resource_versions when it reconnects, and
// ACKs or NACKs each response by nonce. A NACKed response is taken back: the proxy did not apply
// it, so its resources count as not delivered and are sent again with the next change.
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { TypeStatus } from './connection.js';
import { type DeltaDiscoveryRequest, decodeDeltaDiscoveryRequest, encodeDeltaDiscoveryResponse } from './messages.js';
import type { Snapshot } from './snapshot.js';
import { AdsStream, type StreamHost, pushOrder } from './stream.js';

interface Subscription {
  status: TypeStatus;
  wildcard: boolean;
  names: Set<string>;
  /** What the proxy holds: name → version. */
  known: Map<string, string>;
  /** Names explicitly subscribed that do not exist and were reported removed. */
  reportedMissing: Set<string>;
  /** The last response not yet answered: the `known` entries it replaced, to restore on NACK. */
  inflight: { nonce: string; previous: Map<string, string | undefined> } | undefined;
}

export class DeltaStream extends AdsStream<DeltaDiscoveryRequest> {
  private readonly subs = new Map<string, Subscription>();

  constructor(host: StreamHost, call: ServerDuplexStream<Buffer, Buffer>) {
    super(host, call, 'delta', decodeDeltaDiscoveryRequest);
  }

  protected handle(req: DeltaDiscoveryRequest, snapshot: Snapshot | undefined): void {
    const typeUrl = req.typeUrl;
    if (!typeUrl) return;
    const subscribe = req.resourceNamesSubscribe ?? [];
    const unsubscribe = req.resourceNamesUnsubscribe ?? [];
    let sub = this.subs.get(typeUrl);
    const first = !sub;
    if (!sub) {
      sub = {
        status: this.status(typeUrl, '*'),
        wildcard: subscribe.length === 0, // legacy wildcard: an empty first request
        names: new Set(),
        known: new Map(Object.entries(req.initialResourceVersions ?? {})),
        reportedMissing: new Set(),
        inflight: undefined,
      };
      this.subs.set(typeUrl, sub);
    }
    if (req.responseNonce && sub.inflight && req.responseNonce === sub.inflight.nonce) {
      if (req.errorDetail) {
        for (const [name, version] of sub.inflight.previous) {
          if (version === undefined) sub.known.delete(name);
          else sub.known.set(name, version);
        }
      }
      sub.inflight = undefined;
      this.answered(sub.status, sub.status.sentVersion ?? '', req.errorDetail);
    }
    for (const name of subscribe) {
      if (name === '*') sub.wildcard = true;
      else sub.names.add(name);
    }
    for (const name of unsubscribe) {
      if (name === '*') sub.wildcard = false;
      else {
        sub.names.delete(name);
        sub.known.delete(name);
        sub.reportedMissing.delete(name);
      }
    }
    sub.status.subscribed = sub.wildcard ? '*' : [...sub.names];
    if (!snapshot) return; // a late proxy: answered when its first snapshot is set
    // The first request is always answered, so the proxy knows its subscription is complete; a
    // later one only when it changed the subscription (an ACK or NACK alone waits for a change).
    if (first || subscribe.length || unsubscribe.length) this.respond(sub, snapshot, first);
  }

  protected push(snapshot: Snapshot): void {
    for (const typeUrl of pushOrder(this.subs.keys())) this.respond(this.subs.get(typeUrl)!, snapshot, false);
  }

  private respond(sub: Subscription, snapshot: Snapshot, evenIfEmpty: boolean): void {
    const typeUrl = sub.status.typeUrl;
    const current = snapshot.types.get(typeUrl);
    const chunks: Uint8Array[] = [];
    const removed: string[] = [];
    const removedSet = new Set<string>();
    const previous = new Map<string, string | undefined>();
    const deliver = (name: string): void => {
      const r = current?.resources.get(name);
      if (!r) {
        // Subscribed by name and absent: tell the proxy once, so it stops waiting for it.
        if (sub.known.has(name) || !sub.reportedMissing.has(name)) {
          previous.set(name, sub.known.get(name));
          sub.known.delete(name);
          sub.reportedMissing.add(name);
          removedSet.add(name);
          removed.push(name);
        }
        return;
      }
      sub.reportedMissing.delete(name);
      if (sub.known.get(name) === r.version) return;
      previous.set(name, sub.known.get(name));
      sub.known.set(name, r.version);
      chunks.push(r.deltaChunk);
    };
    if (sub.wildcard && current) for (const name of current.resources.keys()) deliver(name);
    for (const name of sub.names) if (!sub.wildcard || !current?.resources.has(name)) deliver(name);
    // Whatever the proxy holds that is no longer in the snapshot (or no longer subscribed) goes.
    for (const name of [...sub.known.keys()]) {
      const subscribed = sub.wildcard || sub.names.has(name);
      if (!subscribed || !current?.resources.has(name)) {
        previous.set(name, sub.known.get(name));
        sub.known.delete(name);
        if (!removedSet.has(name)) removed.push(name);
      }
    }
    if (chunks.length === 0 && removed.length === 0 && !evenIfEmpty) return;
    const nonce = this.nonce();
    const version = snapshot.version;
    sub.status.sentVersion = version;
    sub.status.sentNonce = nonce;
    // A response not yet answered is superseded; what it delivered stays delivered.
    sub.inflight = { nonce, previous };
    this.send(encodeDeltaDiscoveryResponse(version, typeUrl, nonce, chunks, removed));
  }
}
