// Where traffic goes: a route's destination, split into weighted settings (one per backendRef),
// each with its endpoints, protocol and upstream TLS. Cluster names come from RouteDestination.name.
import type { AddHeader, Bytes, PrivateBytes, ResourceMetadata } from './common.js';
import type { URLRewrite } from './route.js';
import type { TrafficFeatures } from './traffic.js';

export interface RouteDestination {
  /** The Envoy cluster name. */
  name: string;
  /** Overrides the cluster's alt_stat_name. */
  statName?: string;
  settings?: DestinationSetting[];
  metadata?: ResourceMetadata;
  /** Weighted references to shared clusters of `Xds.backendClusters` (instead of own settings). */
  backendClusterRefs?: BackendClusterRef[];
}

export interface BackendClusterRef {
  name: string;
  weight?: number;
}

/** How a setting's endpoints are addressed: static IPs, DNS names, Unix sockets, or a mix. */
export type DestinationAddressType = 'IP' | 'FQDN' | 'Mixed' | 'UDS' | 'STATIC';

/** The application protocol spoken to the upstream. */
export type AppProtocol = 'HTTP' | 'HTTP2' | 'HTTPS' | 'GRPC' | 'GRPCS' | 'TCP' | 'UDP';

/** One backendRef of a destination: a group of endpoints with a weight. */
export interface DestinationSetting {
  /** `<destination name>/backend/<index>`; -1 for destinations that are not rule backends. */
  name: string;
  weight?: number;
  /** Failover priority (0 is primary). */
  priority?: number;
  protocol?: AppProtocol;
  endpoints?: DestinationEndpoint[];
  addressType?: DestinationAddressType;
  ipFamily?: 'IPv4' | 'IPv6' | 'DualStack';
  tls?: TLSUpstreamConfig;
  /** Per-backend filters (backendRef filters of the route rule). */
  filters?: DestinationFilters;
  metadata?: ResourceMetadata;
  /** Zone-aware routing for this backend (Service trafficDistribution / topology hints). */
  preferLocal?: PreferLocalZone;
  /** A Backend of type DynamicResolver: the upstream is resolved from the request's host. */
  isDynamicResolver?: boolean;
  /** The backend only speaks HTTP/1.1 even if the client used HTTP/2. */
  forceHTTP1Upstream?: boolean;
  /** The backendRef could not be resolved; requests to it get a 500. */
  invalid?: boolean;
}

export interface DestinationEndpoint {
  host: string;
  port: number;
  /** Unix domain socket path (addressType UDS). */
  path?: string;
  /** The endpoint is terminating: kept for existing traffic, health status DRAINING. */
  draining?: boolean;
  zone?: string;
  /** The endpoint's hostname, used for auto SNI / SAN validation. */
  hostname?: string;
}

export interface DestinationFilters {
  addRequestHeaders?: AddHeader[];
  removeRequestHeaders?: string[];
  addResponseHeaders?: AddHeader[];
  removeResponseHeaders?: string[];
  credentialInjection?: CredentialInjection;
  urlRewrite?: URLRewrite;
}

export interface CredentialInjection {
  name: string;
  /** The header to inject into; Authorization when absent. */
  header?: string;
  overwrite?: boolean;
  credential: PrivateBytes;
}

export interface PreferLocalZone {
  /** Fall back to all zones when the local zone has fewer healthy endpoints than this. */
  minEndpointsThreshold?: number;
  percentageEnabled?: number;
  force?: { minEndpointsInZoneThreshold?: number };
}

/** TLS versions, ciphers and ALPN as both sides share them. Versions are "1.0".."1.3" or "tls1.2". */
export interface TLSParameters {
  minVersion?: string;
  maxVersion?: string;
  ciphers?: string[];
  ecdhCurves?: string[];
  signatureAlgorithms?: string[];
  /** null means "no ALPN at all", absent means the default. */
  alpnProtocols?: string[] | null;
}

/** Upstream TLS (BackendTLSPolicy, Backend TLS settings, EnvoyProxy backendTLS). */
export interface TLSUpstreamConfig extends TLSParameters {
  sni?: string;
  /** Derive SNI (and SAN validation) from each endpoint's hostname. */
  autoSNIFromEndpointHostname?: boolean;
  useSystemTrustStore?: boolean;
  caCertificate?: TLSCACertificate;
  clientCertificates?: TLSCertificate[];
  subjectAltNames?: SubjectAltName[];
  insecureSkipVerify?: boolean;
}

export interface SubjectAltName {
  hostname?: string;
  uri?: string;
}

/** A server or client certificate with its key (base64 PEM), or a reference to an SDS secret. */
export interface TLSCertificate {
  /** The Envoy secret name. */
  name: string;
  certificate?: Bytes;
  privateKey?: PrivateBytes;
  ocspStaple?: Bytes;
  sds?: SDSConfig;
}

/** A secret fetched by Envoy itself from an external SDS server. */
export interface SDSConfig {
  /** Socket address of the SDS server, e.g. a Unix socket path. */
  address: string;
  scheme?: string;
  secretName: string;
}

export interface TLSCACertificate {
  name: string;
  certificate?: Bytes;
}

export interface TLSCRL {
  name: string;
  data?: Bytes;
  onlyVerifyLeafCertificate?: boolean;
}

/** A cluster shared by several routes (`Xds.backendClusters`), referenced by backendClusterRefs. */
export interface BackendCluster {
  name: string;
  setting: DestinationSetting;
  traffic?: TrafficFeatures;
  useClientProtocol?: boolean;
  metadata?: ResourceMetadata;
}
