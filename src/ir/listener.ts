// Listeners: HTTP (with routes), TCP (with TLS passthrough/termination routes) and UDP, plus the
// client-facing settings ClientTrafficPolicies put on them.
import type { AddHeader, Duration, IPFamily, ResourceMetadata, StringMatch } from './common.js';
import type { RouteDestination, TLSCACertificate, TLSCertificate, TLSCRL, TLSParameters } from './destination.js';
import type { HTTPRoute } from './route.js';
import type { Authorization } from './security.js';
import type {
  BackendConnection, CircuitBreaker, DNS, HealthCheck, HTTP2Settings, LoadBalancer, TCPKeepalive, Timeout,
  UpstreamProxyProtocol,
} from './traffic.js';

/** What every listener has. */
export interface CoreListenerDetails {
  /** `<namespace>/<gateway>/<listener section>`: the Envoy listener name (name scheme v1). */
  name: string;
  address: string;
  /** The port Envoy listens on (the Gateway port shifted into the unprivileged range). */
  port: number;
  /** The Gateway listener's port, as clients see it. */
  externalPort?: number;
  metadata?: ResourceMetadata;
  ipFamily?: IPFamily;
}

export interface HTTPListener extends CoreListenerDetails {
  hostnames?: string[];
  tls?: TLSConfig;
  routes?: HTTPRoute[];
  tcpKeepalive?: TCPKeepalive;
  headers?: HeaderSettings;
  proxyProtocol?: ProxyProtocolSettings;
  clientIPDetection?: ClientIPDetection;
  path?: PathSettings;
  http1?: HTTP1Settings;
  http2?: HTTP2Settings;
  /** Present (possibly empty) when HTTP/3 over QUIC is enabled. */
  http3?: HTTP3Settings;
  healthCheck?: { path: string };
  timeout?: ClientTimeout;
  connection?: ClientConnection;
  /** Keep routes in the order given instead of Gateway API precedence. */
  preserveRouteOrder?: boolean;
  /** The listener shares certificates with another listener on the same port (421 on mismatch). */
  tlsOverlaps?: boolean;
  geoIPProvider?: GeoIPProvider;
  /** The x-request-id extension: Disable, Sample, Pack or PackAndSample. */
  requestID?: string;
  /** Reject requests whose scheme does not match the listener's TLS setting. */
  matchBackendScheme?: boolean;
  host?: { stripTrailingHostDot?: boolean };
  grpc?: { enableGRPCWeb?: boolean; enableGRPCStats?: boolean };
}

/** Downstream TLS: certificates, client validation and TLS parameters. */
export interface TLSConfig extends TLSParameters {
  certificates?: TLSCertificate[];
  clientCertificates?: TLSCertificate[];
  caCertificate?: TLSCACertificate;
  crl?: TLSCRL;
  requireClientCertificate?: boolean;
  /** Client certificates are requested but failures are not fatal (passed to the app). */
  acceptUntrusted?: boolean;
  allowExpiredCertificate?: boolean;
  clientValidationEnabled?: boolean;
  matchTypedSubjectAltNames?: StringMatch[];
  verifyCertificateHash?: string[];
  verifyCertificateSpki?: string[];
  statefulSessionResumption?: boolean;
  statelessSessionResumption?: boolean;
  /** TLS fingerprints to compute: JA3, JA4. */
  fingerprints?: string[];
}

export interface HeaderSettings {
  enableEnvoyHeaders?: boolean;
  /** Allow, RejectRequest or DropHeader. */
  withUnderscoresAction?: string;
  xForwardedClientCert?: { mode?: string; certDetailsToAdd?: string[] };
  /** Preserve, PreserveOrGenerate, Generate, Disable. */
  requestID?: string;
  earlyAddRequestHeaders?: AddHeader[];
  earlyRemoveRequestHeaders?: string[];
  lateAddResponseHeaders?: AddHeader[];
  lateRemoveResponseHeaders?: string[];
  lateRemoveResponseHeadersOnMatch?: StringMatch[];
  maxRequestHeadersKB?: number;
  disableRateLimitHeaders?: boolean;
}

export interface ProxyProtocolSettings {
  /** Accept connections without the PROXY header too. */
  optional?: boolean;
}

export interface ClientIPDetection {
  xForwardedFor?: {
    numTrustedHops?: number;
    trustedCIDRs?: string[];
    disableXForwardedForAppend?: boolean;
  };
  customHeader?: { name: string; failClosed?: boolean };
  directSourceIP?: Record<string, never>;
}

export interface PathSettings {
  mergeSlashes?: boolean;
  /** KeepUnchanged, RejectRequest, UnescapeAndRedirect, UnescapeAndForward. */
  escapedSlashesAction?: string;
}

export interface HTTP1Settings {
  enableTrailers?: boolean;
  preserveHeaderCase?: boolean;
  http10?: { defaultHost?: string };
  disableSafeMaxConnectionDuration?: boolean;
  /** Upgrade headers (e.g. TLS/1.2) that are ignored rather than upgraded. */
  ignoredUpgradeTypes?: StringMatch[];
}

export type HTTP3Settings = Record<string, unknown>;

export interface ClientTimeout {
  tcp?: { idleTimeout?: Duration; connectionInspectionTimeout?: Duration; tlsHandshakeTimeout?: Duration };
  http?: {
    requestReceivedTimeout?: Duration;
    idleTimeout?: Duration;
    streamIdleTimeout?: Duration;
    requestHeadersReceivedTimeout?: Duration;
  };
}

export interface ClientConnection {
  limit?: {
    value?: number;
    closeDelay?: Duration;
    maxConnectionDuration?: Duration;
    maxRequestsPerConnection?: number;
    maxStreamDuration?: Duration;
  };
  /** Bytes. */
  bufferLimit?: number;
  /** Bytes: the socket's send and receive buffers. */
  socketBufferLimit?: number;
  maxAcceptPerSocketEvent?: number;
}

export interface GeoIPProvider {
  maxMind?: {
    cityDbPath?: string;
    countryDbPath?: string;
    asnDbPath?: string;
    ispDbPath?: string;
    anonymousIpDbPath?: string;
  };
}

export interface TCPListener extends CoreListenerDetails {
  tls?: TLSConfig;
  routes?: TCPRoute[];
  tcpKeepalive?: TCPKeepalive;
  proxyProtocol?: ProxyProtocolSettings;
  timeout?: ClientTimeout;
  connection?: ClientConnection;
}

/** A TCPRoute or TLSRoute: a TCP proxy, optionally behind SNI matching or TLS termination. */
export interface TCPRoute {
  name: string;
  tls?: TLS;
  destination?: RouteDestination;
  loadBalancer?: LoadBalancer;
  proxyProtocol?: UpstreamProxyProtocol;
  healthCheck?: HealthCheck;
  circuitBreaker?: CircuitBreaker;
  tcpKeepalive?: TCPKeepalive;
  timeout?: Timeout;
  backendConnection?: BackendConnection;
  dns?: DNS;
  authorization?: Authorization;
  metadata?: ResourceMetadata;
  /** The route's stat name (a BackendTrafficPolicy's routeStatName). */
  statName?: string;
}

export interface TLS {
  /** Passthrough: match on SNI without terminating. */
  inspector?: { snis?: string[] };
  /** Terminate TLS with these settings. */
  terminate?: TLSConfig;
}

export interface UDPListener extends CoreListenerDetails {
  route?: UDPRoute;
}

export interface UDPRoute {
  name: string;
  destination?: RouteDestination;
  loadBalancer?: LoadBalancer;
  dns?: DNS;
}

