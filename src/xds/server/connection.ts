// What the server knows of each connected proxy: its node, and per resource type what it was
// sent, what it acknowledged, and its last rejection (NACK) with the proxy's own message. The
// control plane reads this (and the events) to put NACKs and readiness in status.

/** A proxy's rejection of a response. */
export interface Nack {
  typeUrl: string;
  /** The version the proxy rejected (the version_info/system_version_info we sent with that nonce). */
  version: string;
  nonce: string;
  /** google.rpc.Status code and message from the proxy's error_detail. */
  code: number;
  message: string;
  at: Date;
}

export interface TypeStatus {
  typeUrl: string;
  /** Names subscribed to, or '*' for all (wildcard). */
  subscribed: '*' | string[];
  sentVersion?: string;
  sentNonce?: string;
  ackedVersion?: string;
  ackedAt?: Date;
  lastNack?: Nack;
}

export interface ProxyConnection {
  /** Unique per stream, for this server's lifetime. */
  id: number;
  protocol: 'sotw' | 'delta';
  /** The gRPC peer address. */
  peer: string;
  nodeId: string;
  /** The IR key this proxy is served (its node's cluster). */
  cluster: string;
  connectedAt: Date;
  types: Map<string, TypeStatus>;
}

export interface XdsServerEvents {
  connect: [ProxyConnection];
  disconnect: [ProxyConnection];
  ack: [ProxyConnection, TypeStatus];
  nack: [ProxyConnection, Nack];
}
