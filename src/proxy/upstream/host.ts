// An upstream endpoint as the load balancers and pools see it: address, weight, priority,
// locality, health (from EDS, active health checks and outlier detection) and its live load.
import type { ConnPool } from './types.js';

export const enum HealthFlag {
  /** EDS said UNHEALTHY / TIMEOUT. */
  EdsUnhealthy = 1 << 0,
  /** EDS said DRAINING: no new requests. */
  EdsDraining = 1 << 1,
  /** Failed active health checking. */
  ActiveHcFailed = 1 << 2,
  /** Ejected by outlier detection. */
  OutlierEjected = 1 << 3,
  /** Degraded (EDS DEGRADED or health check said so): used only when healthy hosts run out. */
  Degraded = 1 << 4,
  /** Waiting for its first active health check (when the cluster asks for that). */
  PendingActiveHc = 1 << 5,
  /** The active health check said degraded (x-envoy-degraded). */
  DegradedActiveHc = 1 << 6,
}

/** Flags that make a host degraded rather than unhealthy; PendingActiveHc alone changes nothing. */
const NOT_UNHEALTHY = HealthFlag.Degraded | HealthFlag.DegradedActiveHc | HealthFlag.PendingActiveHc;
const DEGRADED = HealthFlag.Degraded | HealthFlag.DegradedActiveHc;

/**
 * Results outlier detection learns from (Envoy's Outlier::Result): connection outcomes seen by
 * the pools and the TCP/UDP proxies, and request outcomes without an HTTP status.
 */
export type OutlierResult = 'connect-success' | 'connect-success-final' | 'connect-failed' | 'timeout' | 'request-success' | 'request-failed';

/** The per-host side of outlier detection: fed on the data path, set by health/outlier.ts. */
export interface OutlierMonitor {
  putHttpResponseCode(code: number): void;
  putResult(result: OutlierResult): void;
}

export interface Locality {
  region: string;
  zone: string;
  subZone: string;
  /** loadBalancingWeight of the LocalityLbEndpoints; 0 when unset. */
  weight: number;
  key: string;
}

export class Host {
  healthFlags = 0;
  activeRequests = 0;
  /** Connection pools by protocol ('h1', 'h2'), created on first use. */
  pools: Map<string, ConnPool> | undefined;
  /** Per-host state owned by health checking and outlier detection. */
  hcState: unknown;
  /** Outlier detection's monitor when the cluster has outlier_detection. */
  outlier: OutlierMonitor | undefined;
  /** health_check_config.port_value of the endpoint: where active health checks go (0: the host's port). */
  healthCheckPort = 0;
  /** Statistics (requests, failures) read by outlier detection and stats. */
  rqTotal = 0;
  rqError = 0;

  constructor(
    /** IP address or DNS name; empty for a Unix socket. */
    readonly address: string,
    readonly port: number,
    /** Unix socket path (pipe), or undefined. */
    readonly pipe: string | undefined,
    public weight: number,
    public priority: number,
    public locality: Locality,
    /** The endpoint's hostname (EDS `hostname`, or the DNS name it came from), for SNI and Host. */
    readonly hostname: string,
    /** filter_metadata["envoy.transport_socket_match"], for transport socket matches. */
    readonly socketMatch: Record<string, unknown> | undefined,
  ) {}

  get key(): string {
    return this.pipe ? `unix:${this.pipe}` : `${this.address}:${this.port}`;
  }

  /** Whether the load balancer may send new requests here. */
  get healthy(): boolean {
    return (this.healthFlags & ~NOT_UNHEALTHY) === 0;
  }

  get degraded(): boolean {
    return (this.healthFlags & DEGRADED) !== 0 && (this.healthFlags & ~NOT_UNHEALTHY) === 0;
  }

  toString(): string {
    return this.pipe ? this.pipe : this.address.includes(':') ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }
}
