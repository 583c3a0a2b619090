// EnvoyProxy: how a fleet of proxies is run and what it does fleet-wide (provider, logging,
// bootstrap, telemetry, filter order, backend TLS, merged gateways/backends, Lua, Wasm-less
// dynamic modules, GeoIP).
import { resource } from '../meta.js';
import { int32, list, rule, str, z } from '../schema.js';
import { Conditions, LabelSelector, ParentReference, SecretObjectReference } from '../gatewayapi/shared.js';
import { EnvoyProxyKubernetesProvider } from './kubernetes.js';
import { GoDuration, tlsSettingsShape, tlsVersionOrder } from './shared.js';
import { ProxyTelemetry } from './telemetry.js';

export const LogLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error']);

export const ProxyLogComponent = z.enum(['default', 'system', 'upstream', 'http', 'connection', 'admin', 'client', 'filter', 'main', 'router', 'runtime']);

export const ProxyLogging = z.strictObject({
  level: z.partialRecord(ProxyLogComponent, LogLevel).prefault({ default: 'warn' }),
});

export const EnvoyFilter = z.enum([
  'envoy.filters.http.health_check',
  'envoy.filters.http.fault',
  'envoy.filters.http.cors',
  'envoy.filters.http.header_mutation',
  'envoy.filters.http.ext_authz',
  'envoy.filters.http.api_key_auth',
  'envoy.filters.http.basic_auth',
  'envoy.filters.http.oauth2',
  'envoy.filters.http.jwt_authn',
  'envoy.filters.http.stateful_session',
  'envoy.filters.http.buffer',
  'envoy.filters.http.lua',
  'envoy.filters.http.ext_proc',
  'envoy.filters.http.wasm',
  'envoy.filters.http.dynamic_modules',
  'envoy.filters.http.rbac',
  'envoy.filters.http.local_ratelimit',
  'envoy.filters.http.ratelimit',
  'envoy.filters.http.grpc_web',
  'envoy.filters.http.grpc_stats',
  'envoy.filters.http.custom_response',
  'envoy.filters.http.credential_injector',
  'envoy.filters.http.compressor',
  'envoy.filters.http.dynamic_forward_proxy',
  'envoy.filters.http.geoip',
]);

/** Moves one filter before or after another (exactly one of the two). */
export const FilterPosition = z
  .strictObject({ name: EnvoyFilter, before: EnvoyFilter.optional(), after: EnvoyFilter.optional() })
  .superRefine(
    rule((f, fail) => {
      if (f.before === undefined && f.after === undefined) fail('before or after is required', 'before');
      if (f.before !== undefined && f.after !== undefined) fail('give before or after, not both', 'after');
    }),
  );

const JSONPatchOperation = z.strictObject({
  op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
  path: str().optional(),
  jsonPath: str().optional(),
  from: str().optional(),
  value: z.unknown().optional(),
});
export { JSONPatchOperation };

export const ProxyBootstrap = z
  .strictObject({
    type: z.enum(['Merge', 'Replace', 'JSONPatch']).default('Replace'),
    value: str().optional(),
    jsonPatches: list(JSONPatchOperation).optional(),
  })
  .superRefine(
    rule((b, fail) => {
      if ((b.type ?? 'Replace') === 'JSONPatch') {
        if (b.value !== undefined) fail('value may not be set when type is JSONPatch; use jsonPatches', 'value');
      } else if (b.jsonPatches !== undefined) fail('jsonPatches may only be set when type is JSONPatch', 'jsonPatches');
      else if (b.value === undefined) fail(`value is required when type is ${b.type ?? 'Replace'}`, 'value');
    }),
  );

export const EnvoyProxyProvider = z
  .strictObject({
    type: z.enum(['Kubernetes', 'Host']),
    kubernetes: EnvoyProxyKubernetesProvider.optional(),
    host: z.strictObject({ envoyVersion: str().optional() }).optional(),
  })
  .superRefine(
    rule((p, fail) => {
      if (p.kubernetes && p.type !== 'Kubernetes') fail('kubernetes may only be set when type is Kubernetes', 'kubernetes');
      if (p.host && p.type !== 'Host') fail('host may only be set when type is Host', 'host');
    }),
  );

export const BackendTLSConfig = z
  .strictObject({ clientCertificateRef: SecretObjectReference.optional(), ...tlsSettingsShape })
  .superRefine(tlsVersionOrder);

const ModuleSource = z
  .strictObject({
    type: z.enum(['Local', 'Remote']).default('Local'),
    local: z.strictObject({ path: str({ min: 1 }) }).optional(),
    remote: z.strictObject({ url: str({ min: 1 }), sha256: str({ pattern: /^[a-f0-9]{64}$/, what: '64 lowercase hex digits' }).optional() }).optional(),
  })
  .superRefine(
    rule((s, fail) => {
      if ((s.type ?? 'Local') === 'Local' && !s.local) fail('local is required when type is Local', 'local');
      if (s.type === 'Remote' && !s.remote) fail('remote is required when type is Remote', 'remote');
    }),
  );

/** A dynamic module the proxies load, named so EnvoyExtensionPolicies can use it. */
export const DynamicModuleEntry = z.strictObject({
  name: str({ min: 1 }),
  source: ModuleSource,
  doNotClose: z.boolean().optional(),
  loadGlobally: z.boolean().optional(),
});

const GeoIPDBSource = z.strictObject({ local: z.strictObject({ path: str({ min: 1 }) }) });

export const EnvoyProxyGeoIP = z.strictObject({
  provider: z.strictObject({
    type: z.enum(['MaxMind']),
    maxMind: z
      .strictObject({
        cityDbSource: GeoIPDBSource.optional(),
        countryDbSource: GeoIPDBSource.optional(),
        asnDbSource: GeoIPDBSource.optional(),
        ispDbSource: GeoIPDBSource.optional(),
        anonymousIpDbSource: GeoIPDBSource.optional(),
      })
      .optional(),
  }),
});

export const EnvoyProxySpec = z.strictObject({
  provider: EnvoyProxyProvider.optional(),
  logging: ProxyLogging.prefault({ level: { default: 'warn' } }),
  telemetry: ProxyTelemetry.optional(),
  bootstrap: ProxyBootstrap.optional(),
  concurrency: int32().optional(),
  routingType: z.enum(['Service', 'Endpoint']).optional(),
  extraArgs: list(str()).optional(),
  mergeGateways: z.boolean().optional(),
  /** Merge the clusters of identical backends across the gateways of a fleet. */
  mergeBackends: z.strictObject({ selector: LabelSelector.optional() }).optional(),
  shutdown: z.strictObject({ drainTimeout: GoDuration.optional(), minDrainDuration: GoDuration.optional() }).optional(),
  filterOrder: list(FilterPosition).optional(),
  backendTLS: BackendTLSConfig.optional(),
  ipFamily: z.enum(['IPv4', 'IPv6', 'DualStack']).optional(),
  preserveRouteOrder: z.boolean().optional(),
  /** Deprecated in favour of lua.validationType. */
  luaValidation: z.enum(['Strict', 'InsecureSyntax', 'Disabled']).optional(),
  lua: z.strictObject({ validationType: z.enum(['Strict', 'InsecureSyntax', 'Disabled']).optional() }).optional(),
  dynamicModules: list(DynamicModuleEntry).optional(),
  geoIP: EnvoyProxyGeoIP.optional(),
});
export type EnvoyProxySpec = z.input<typeof EnvoyProxySpec>;

/** For each Gateway (or GatewayClass) using it, whether the EnvoyProxy was accepted. */
export const EnvoyProxyStatus = z.strictObject({
  ancestors: list(z.strictObject({ ancestorRef: ParentReference, conditions: Conditions.optional() }), 16).optional(),
});
export type EnvoyProxyStatus = z.input<typeof EnvoyProxyStatus>;

export const EnvoyProxy = resource('EnvoyProxy', { spec: EnvoyProxySpec.optional(), status: EnvoyProxyStatus.optional() });
export type EnvoyProxy = z.input<typeof EnvoyProxy>;
