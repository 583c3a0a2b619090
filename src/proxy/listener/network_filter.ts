// Network (L4) filters of a filter chain, by typed-config type. The HTTP connection manager is
// the built-in terminal filter; others (tcp_proxy, rbac, connection_limit, ...) register here.
// A chain naming a type that is not registered is rejected, never ignored.
import type net from 'node:net';
import type { Json } from '../config/json.js';
import type { DownstreamInfo } from '../http/stream_info.js';
import type { HcmCompileContext } from '../http/hcm_config.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';
import type { SecretStore } from '../tls/secrets.js';
import type { ListenerConfig } from './listener_config.js';

export interface NetworkFilterContext extends HcmCompileContext {
  clusters: ClusterManagerView;
  secrets: SecretStore & { version: number };
}

/** What a terminal network filter gets: the (possibly TLS) socket and what is known about it. */
export interface AcceptedConnection {
  socket: net.Socket;
  info: DownstreamInfo;
  /** ALPN negotiated by TLS termination ('h2', 'http/1.1') or '' . */
  alpn: string;
  /** The listener's per-connection buffer limit. */
  bufferLimit: number;
}

export interface NetworkFilter {
  /**
   * Non-terminal filters run in order: true lets the connection go on, false closes it, 'taken'
   * means the filter keeps the connection (and closes it itself).
   */
  onAccept?(c: AcceptedConnection): boolean | 'taken';
  /** Terminal filters take the connection over. */
  handle?(c: AcceptedConnection): void;
  /** The filter chain is being removed: finish gracefully (stop keep-alive, GOAWAY). */
  drain?(): void;
  readonly terminal: boolean;
}

export interface NetworkFilterFactory {
  readonly configType: string;
  create(config: Json, path: string, ctx: NetworkFilterContext): NetworkFilter;
}

const factories = new Map<string, NetworkFilterFactory>();

export function registerNetworkFilter(f: NetworkFilterFactory): void {
  factories.set(f.configType, f);
}

export function networkFilterFactory(type: string): NetworkFilterFactory | undefined {
  return factories.get(type);
}

/** A running UDP listener (the UDP proxy): updated in place when only its filter changed. */
export interface UdpListenerHandle {
  readonly boundPort: number;
  update(c: ListenerConfig): void;
  close(): Promise<void>;
}

/** The listener filter of a UDP listener (udp_proxy), compiled; binds when the listener starts. */
export interface UdpListenerFilter {
  start(c: ListenerConfig): Promise<UdpListenerHandle>;
}

export interface UdpListenerFilterFactory {
  readonly configType: string;
  create(config: Json, path: string, ctx: NetworkFilterContext): UdpListenerFilter;
}

const udpFactories = new Map<string, UdpListenerFilterFactory>();

export function registerUdpListenerFilter(f: UdpListenerFilterFactory): void {
  udpFactories.set(f.configType, f);
}

export function udpListenerFilterFactory(type: string): UdpListenerFilterFactory | undefined {
  return udpFactories.get(type);
}
