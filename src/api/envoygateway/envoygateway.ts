// EnvoyGateway: the control plane's own configuration (not a CRD: the file it starts with).
// Its translation into behaviour comes with later work; the shape and checks are here.
import { resource } from '../meta.js';
import { int32, list, rule, str, z } from '../schema.js';
import { GatewayController, LabelSelector, SecretObjectReference } from '../gatewayapi/shared.js';
import { KubernetesDeploymentSpec, KubernetesFragment, KubernetesHorizontalPodAutoscalerSpec } from './kubernetes.js';
import { backendClusterShape, GoDuration } from './shared.js';
import { ProxyMetricSink } from './telemetry.js';

export const EnvoyGatewayLogComponent = z.enum(['default', 'provider', 'gateway-api', 'xds-translator', 'xds-server', 'xds', 'infrastructure', 'global-ratelimit']);
const LogLevel = z.enum(['debug', 'info', 'warn', 'error']);

export const KubernetesWatchMode = z
  .strictObject({
    type: z.enum(['Namespaces', 'NamespaceSelector']),
    namespaces: list(str()).optional(),
    namespaceSelector: LabelSelector.optional(),
  })
  .superRefine(
    rule((w, fail) => {
      if (w.type === 'Namespaces' && !w.namespaces?.length) fail('namespaces is required when type is Namespaces', 'namespaces');
      if (w.type === 'NamespaceSelector' && !w.namespaceSelector) fail('namespaceSelector is required when type is NamespaceSelector', 'namespaceSelector');
    }),
  );

export const EnvoyGatewayKubernetesProvider = z.strictObject({
  rateLimitDeployment: KubernetesDeploymentSpec.optional(),
  rateLimitHpa: KubernetesHorizontalPodAutoscalerSpec.optional(),
  watch: KubernetesWatchMode.optional(),
  deploy: z.strictObject({ type: z.enum(['ControllerNamespace', 'GatewayNamespace']).optional() }).optional(),
  leaderElection: z
    .strictObject({ leaseDuration: GoDuration.optional(), renewDeadline: GoDuration.optional(), retryPeriod: GoDuration.optional(), disable: z.boolean().optional() })
    .optional(),
  shutdownManager: z.strictObject({ image: str().optional() }).optional(),
  client: z.strictObject({ rateLimit: z.strictObject({ qps: int32(0).optional(), burst: int32(0).optional() }).optional() }).optional(),
  topologyInjector: z.strictObject({ disable: z.boolean().optional() }).optional(),
  cacheSyncPeriod: GoDuration.optional(),
});

export const EnvoyGatewayCustomProvider = z.strictObject({
  resource: z
    .strictObject({ type: z.enum(['File']), file: z.strictObject({ paths: list(str({ min: 1 }), undefined, 1) }).optional() })
    .superRefine(rule((r, fail) => (r.type === 'File' && !r.file ? fail('file is required when type is File', 'file') : undefined))),
  infrastructure: z
    .strictObject({
      type: z.enum(['Host']),
      host: z.strictObject({ home: str().optional(), envoyVersion: str().optional(), configHome: str().optional(), dataHome: str().optional(), stateHome: str().optional(), runtimeDir: str().optional() }).optional(),
    })
    .optional(),
});

export const EnvoyGatewayProvider = z
  .strictObject({
    type: z.enum(['Kubernetes', 'Custom']),
    kubernetes: EnvoyGatewayKubernetesProvider.optional(),
    custom: EnvoyGatewayCustomProvider.optional(),
  })
  .superRefine(
    rule((p, fail) => {
      if (p.type === 'Custom' && !p.custom) fail('custom is required when type is Custom', 'custom');
      if (p.custom && p.type !== 'Custom') fail('custom may only be set when type is Custom', 'custom');
      if (p.kubernetes && p.type !== 'Kubernetes') fail('kubernetes may only be set when type is Kubernetes', 'kubernetes');
    }),
  );

export const RateLimit = z.strictObject({
  backend: z.strictObject({
    type: z.enum(['Redis']),
    redis: z.strictObject({ url: str({ min: 1 }), tls: z.strictObject({ certificateRef: SecretObjectReference.optional() }).optional() }).optional(),
  }),
  timeout: GoDuration.optional(),
  failClosed: z.boolean().optional(),
  telemetry: z
    .strictObject({
      metrics: z.strictObject({ prometheus: z.strictObject({ disable: z.boolean().optional() }).optional() }).optional(),
      tracing: z.strictObject({ sampleRate: int32(0).optional() }).optional(),
    })
    .optional(),
});

export const ExtensionManager = z.strictObject({
  resources: list(z.strictObject({ group: str(), version: str(), kind: str() })).optional(),
  policyResources: list(z.strictObject({ group: str(), version: str(), kind: str() })).optional(),
  backendResources: list(z.strictObject({ group: str(), version: str(), kind: str() })).optional(),
  hooks: KubernetesFragment.optional(),
  service: z
    .strictObject({
      ...backendClusterShape,
      fqdn: z.strictObject({ hostname: str(), port: int32(1, 65535) }).optional(),
      ip: z.strictObject({ address: str(), port: int32(1, 65535) }).optional(),
      unix: z.strictObject({ path: str() }).optional(),
      host: str().optional(),
      port: int32(0, 65535).optional(),
      tls: KubernetesFragment.optional(),
      retry: KubernetesFragment.optional(),
    })
    .optional(),
  failOpen: z.boolean().optional(),
  maxMessageSize: z.union([int32(0), str()]).optional(),
});

export const EnvoyGatewaySpec = z.strictObject({
  gateway: z.strictObject({ controllerName: GatewayController.default('gateway.envoyproxy.io/gatewayclass-controller') }).optional(),
  provider: EnvoyGatewayProvider.optional(),
  logging: z.strictObject({ level: z.partialRecord(EnvoyGatewayLogComponent, LogLevel).prefault({ default: 'info' }) }).optional(),
  admin: z
    .strictObject({
      address: z.strictObject({ host: str().default('127.0.0.1'), port: int32(0, 65535).default(19000) }).optional(),
      enableDumpConfig: z.boolean().optional(),
      enablePprof: z.boolean().optional(),
    })
    .optional(),
  telemetry: z
    .strictObject({
      metrics: z.strictObject({ prometheus: z.strictObject({ disable: z.boolean().optional() }).optional(), sinks: list(ProxyMetricSink).optional() }).optional(),
    })
    .optional(),
  rateLimit: RateLimit.optional(),
  extensionManager: ExtensionManager.optional(),
  extensionApis: z
    .strictObject({ enableEnvoyPatchPolicy: z.boolean().optional(), enableBackend: z.boolean().optional(), disableLua: z.boolean().optional() })
    .optional(),
  runtimeFlags: z.strictObject({ enabled: list(str()).optional(), disabled: list(str()).optional() }).optional(),
});
export type EnvoyGatewaySpec = z.input<typeof EnvoyGatewaySpec>;

/** The configuration file: apiVersion and kind, then the spec's fields at the top level. */
export const EnvoyGateway = z.strictObject({
  apiVersion: z.string(),
  kind: z.literal('EnvoyGateway'),
  metadata: resource('EnvoyGateway', {}).shape.metadata.optional(),
  ...EnvoyGatewaySpec.shape,
});
export type EnvoyGateway = z.input<typeof EnvoyGateway>;
