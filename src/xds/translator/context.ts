// The state of one translation: the resource table, the errors met on the way (a bad route or
// listener is skipped, the rest goes on), the external SDS servers to add clusters for, and the
// translator settings.
import type { HealthCheckLog, HTTPListener, Xds } from '../../ir/xds.js';
import { buildHCMTracing } from './tracing.js';
import { buildCluster, type ClusterArgs } from './cluster.js';
import { buildLoadAssignment } from './endpoint.js';
import { ResourceTable, type ResourceValidator } from './resources.js';
import { buildCertificateSecret, buildUpstreamCASecret } from './tls.js';
import type { TLSCertificate } from '../../ir/xds.js';
import { protoDuration, type Msg } from './util.js';
import { credentialSecret, credentialSecretName } from './upstreamfilters.js';
import { Names, xdsNameSchemeV2 } from './names.js';

export interface TranslatorOptions {
  /** The namespace Envoy Gateway runs in (rate limit and Wasm services live there). */
  controllerNamespace?: string;
  /** The cluster's DNS domain, for service URLs. */
  dnsDomain?: string;
  /** Envoy Gateway runtime flags, e.g. XDSNameSchemeV2. */
  runtimeFlags?: string[];
  /**
   * The global rate limit service (EnvoyGateway rateLimit). Routes carry global rate limits only
   * when the gateway has one, so the filters follow the IR; this says how to reach it.
   */
  globalRateLimit?: GlobalRateLimitSettings;
  /** Checks each resource before it is added (Envoy's proto rules); none: no checks. */
  validator?: ResourceValidator;
  /** Where the proxies reach the Wasm module cache; default Envoy Gateway's Service, port 18002. */
  wasmCache?: WasmCacheAddress;
}

export interface WasmCacheAddress {
  host: string;
  port: number;
  /** The CA the proxies check the cache's certificate with; default Envoy Gateway's /certs/ca.crt. */
  caFile?: string;
}

export interface GlobalRateLimitSettings {
  /** grpc://host:port of the rate limit service; default: Envoy Gateway's envoy-ratelimit Service. */
  serviceURL?: string;
  /** Timeout of a call to the service (Go duration). */
  timeout?: string;
  /** Deny requests when the service cannot be reached. */
  failClosed?: boolean;
  /** The CA the proxies check the service's certificate with; default Envoy Gateway's /certs/ca.crt. */
  caFile?: string;
}

export class Context {
  readonly table: ResourceTable;
  readonly errors: string[] = [];
  readonly sdsServers = new Set<string>();
  /** How resources are named (Envoy Gateway's default or v2 scheme). */
  readonly names: Names;
  /** The proxy-wide health check event logging (Xds.healthCheckLog). */
  healthCheckLog?: HealthCheckLog;

  constructor(readonly options: TranslatorOptions = {}) {
    this.table = new ResourceTable(options.validator);
    this.names = new Names(this.hasFlag(xdsNameSchemeV2));
  }

  hasFlag(flag: string): boolean {
    return this.options.runtimeFlags?.includes(flag) ?? false;
  }

  duration(d: string): string | undefined {
    return protoDuration(d);
  }

  /**
   * Adds a cluster, its endpoints (for EDS) and the CA secrets of its upstream TLS. A cluster
   * that exists already is kept as it is (the first route to use a destination defines it).
   */
  addCluster(args: ClusterArgs): boolean {
    if (this.table.has('clusters', args.name)) return false;
    const autoSNI = args.settings.some((s) => s.tls) && args.settings.every((s) => !s.tls || (!s.tls.sni && !s.tls.autoSNIFromEndpointHostname));
    const cluster = buildCluster({ ...args, tls: { autoSNI }, defaultHealthCheckLog: args.defaultHealthCheckLog ?? this.healthCheckLog });
    if (autoSNI) {
      const po = cluster.typedExtensionProtocolOptions?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
      if (po) po.upstreamHttpProtocolOptions = args.endpointType === 'dynamic' ? { autoSni: true, autoSanValidation: true } : { autoSni: true };
    }
    // Endpoints first: a cluster whose endpoints Envoy would reject is left out with them.
    if (args.endpointType === 'static') {
      const cla = buildLoadAssignment(args.name, args.settings, { lb: args.traffic?.loadBalancer, healthCheck: args.traffic?.healthCheck });
      if (!this.table.add('endpoints', cla)) return false;
    }
    if (!this.table.add('clusters', cluster)) return false;
    for (const s of args.settings) {
      const secret = s.tls ? buildUpstreamCASecret(s.tls) : undefined;
      // Inline CA bundles are written per cluster; the system trust store only once.
      if (secret?.validationContext?.trustedCa?.filename) this.table.add('secrets', secret);
      else if (secret) this.table.append('secrets', secret);
      for (const c of s.tls?.clientCertificates ?? []) this.addSecretOnce(c);
      const ci = s.filters?.credentialInjection;
      if (ci && !this.table.has('secrets', credentialSecretName(ci.name))) this.table.add('secrets', credentialSecret(ci));
    }
    return true;
  }

  /** Adds a certificate's secret unless one of that name exists. */
  addSecretOnce(cert: TLSCertificate): void {
    if (!this.table.has('secrets', cert.name)) this.table.add('secrets', buildCertificateSecret(cert));
  }

  /** HTTP filters contributed by policies (security, extensions, traffic) on this listener's routes. */
  policyFilters(_l: HTTPListener): Msg[] {
    return [];
  }

  /** The HCM tracing config, when the proxy traces. */
  hcmTracing(ir: Xds, _l: HTTPListener): Msg | undefined {
    return buildHCMTracing(ir.tracing);
  }
}
