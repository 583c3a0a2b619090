// The core Kubernetes kinds and where they are served.
import type { KindInfo } from '../kinds.js';
import { ClusterTrustBundle, ConfigMap, EndpointSlice, Namespace, Secret, Service, ServiceImport } from './core.js';

export * from './core.js';

export const coreKinds: readonly KindInfo[] = [
  { group: '', kind: 'Namespace', versions: ['v1'], schema: Namespace, namespaced: false },
  { group: '', kind: 'Service', versions: ['v1'], schema: Service, namespaced: true },
  { group: '', kind: 'Secret', versions: ['v1'], schema: Secret, namespaced: true },
  { group: '', kind: 'ConfigMap', versions: ['v1'], schema: ConfigMap, namespaced: true },
  { group: 'discovery.k8s.io', kind: 'EndpointSlice', versions: ['v1'], schema: EndpointSlice, namespaced: true },
  { group: 'multicluster.x-k8s.io', kind: 'ServiceImport', versions: ['v1alpha1'], schema: ServiceImport, namespaced: true },
  { group: 'certificates.k8s.io', kind: 'ClusterTrustBundle', versions: ['v1beta1', 'v1alpha1'], schema: ClusterTrustBundle, namespaced: false },
];
