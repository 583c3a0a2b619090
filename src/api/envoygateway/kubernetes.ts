// How Envoy Gateway shapes the Kubernetes objects it creates for a proxy fleet (Deployment,
// DaemonSet, Service, HPA, PDB). Pieces that embed core Kubernetes types (affinity, security
// contexts, volumes...) are checked as mappings and lists here; their inner fields are the
// Kubernetes API's and are passed through to the objects Envoy Gateway renders.
import { int32, list, rule, str, z } from '../schema.js';
import { Quantity } from './shared.js';

/** A core Kubernetes object fragment, passed through as written. */
export const KubernetesFragment = z.record(z.string(), z.unknown());
const fragments = list(KubernetesFragment);

/** A patch applied to a rendered object (strategic merge by default, or JSON merge). */
export const KubernetesPatch = z.strictObject({
  type: z.enum(['StrategicMerge', 'JSONMerge']).default('StrategicMerge'),
  value: z.unknown(),
});

export const KubernetesPodSpec = z.strictObject({
  annotations: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  securityContext: KubernetesFragment.optional(),
  affinity: KubernetesFragment.optional(),
  tolerations: fragments.optional(),
  volumes: fragments.optional(),
  imagePullSecrets: fragments.optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  topologySpreadConstraints: fragments.optional(),
  priorityClassName: str().optional(),
});

export const ResourceRequirements = z.strictObject({
  limits: z.record(z.string(), Quantity).optional(),
  requests: z.record(z.string(), Quantity).optional(),
  claims: fragments.optional(),
});

export const KubernetesContainerSpec = z
  .strictObject({
    env: fragments.optional(),
    resources: ResourceRequirements.optional(),
    securityContext: KubernetesFragment.optional(),
    image: str().optional(),
    imageRepository: str().optional(),
    volumeMounts: fragments.optional(),
  })
  .superRefine(
    rule((c, fail) => {
      if (c.image && c.imageRepository) fail('give image or imageRepository, not both', 'imageRepository');
    }),
  );

export const KubernetesDeploymentSpec = z.strictObject({
  patch: KubernetesPatch.optional(),
  replicas: int32(0).optional(),
  strategy: KubernetesFragment.optional(),
  pod: KubernetesPodSpec.optional(),
  container: KubernetesContainerSpec.optional(),
  initContainers: fragments.optional(),
  name: str().optional(),
});

export const KubernetesDaemonSetSpec = z.strictObject({
  patch: KubernetesPatch.optional(),
  strategy: KubernetesFragment.optional(),
  pod: KubernetesPodSpec.optional(),
  container: KubernetesContainerSpec.optional(),
  name: str().optional(),
});

export const KubernetesServiceSpec = z
  .strictObject({
    annotations: z.record(z.string(), z.string()).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    type: z.enum(['ClusterIP', 'LoadBalancer', 'NodePort']).default('LoadBalancer'),
    loadBalancerClass: str().optional(),
    allocateLoadBalancerNodePorts: z.boolean().optional(),
    loadBalancerSourceRanges: list(str()).optional(),
    loadBalancerIP: str().optional(),
    externalTrafficPolicy: z.enum(['Local', 'Cluster']).default('Local'),
    patch: KubernetesPatch.optional(),
    name: str().optional(),
  })
  .superRefine(
    rule((s, fail) => {
      const type = s.type ?? 'LoadBalancer';
      if (s.loadBalancerClass !== undefined && type !== 'LoadBalancer') fail('loadBalancerClass applies to type LoadBalancer only', 'loadBalancerClass');
      if (s.allocateLoadBalancerNodePorts !== undefined && type !== 'LoadBalancer') fail('allocateLoadBalancerNodePorts applies to type LoadBalancer only', 'allocateLoadBalancerNodePorts');
      if (s.loadBalancerSourceRanges !== undefined && type !== 'LoadBalancer') fail('loadBalancerSourceRanges applies to type LoadBalancer only', 'loadBalancerSourceRanges');
      if (s.loadBalancerIP !== undefined && type !== 'LoadBalancer') fail('loadBalancerIP applies to type LoadBalancer only', 'loadBalancerIP');
    }),
  );

export const KubernetesHorizontalPodAutoscalerSpec = z
  .strictObject({
    minReplicas: int32(1).optional(),
    maxReplicas: int32(1),
    metrics: fragments.optional(),
    behavior: KubernetesFragment.optional(),
    patch: KubernetesPatch.optional(),
    name: str().optional(),
  })
  .superRefine(
    rule((h, fail) => {
      if (h.minReplicas !== undefined && h.maxReplicas < h.minReplicas) fail('maxReplicas may not be below minReplicas', 'maxReplicas');
    }),
  );

export const KubernetesPodDisruptionBudgetSpec = z
  .strictObject({
    minAvailable: z.union([int32(0), str()]).optional(),
    maxUnavailable: z.union([int32(0), str()]).optional(),
    patch: KubernetesPatch.optional(),
    name: str().optional(),
  })
  .superRefine(
    rule((p, fail) => {
      if (p.minAvailable !== undefined && p.maxUnavailable !== undefined) fail('give minAvailable or maxUnavailable, not both', 'maxUnavailable');
    }),
  );

export const EnvoyProxyKubernetesProvider = z
  .strictObject({
    envoyDeployment: KubernetesDeploymentSpec.optional(),
    envoyDaemonSet: KubernetesDaemonSetSpec.optional(),
    envoyService: KubernetesServiceSpec.optional(),
    envoyHpa: KubernetesHorizontalPodAutoscalerSpec.optional(),
    useListenerPortAsContainerPort: z.boolean().optional(),
    envoyPDB: KubernetesPodDisruptionBudgetSpec.optional(),
    envoyServiceAccount: z.strictObject({ name: str().optional() }).optional(),
  })
  .superRefine(
    rule((k, fail) => {
      if (k.envoyDeployment && k.envoyDaemonSet) fail('give envoyDeployment or envoyDaemonSet, not both', 'envoyDaemonSet');
      if (k.envoyHpa && k.envoyDaemonSet) fail('envoyHpa cannot be used with envoyDaemonSet', 'envoyHpa');
    }),
  );
export type EnvoyProxyKubernetesProvider = z.input<typeof EnvoyProxyKubernetesProvider>;
