// The core Kubernetes kinds egts reads: Namespace, Service, EndpointSlice, ServiceImport,
// Secret, ConfigMap, ClusterTrustBundle. The fields are the Kubernetes API's; the checks are
// the ones the API server makes that matter to a gateway (ports, protocols, addresses).
import { Condition, resource } from '../meta.js';
import { int32, isIP, list, rule, str, unique, z } from '../schema.js';

const Protocol = z.enum(['TCP', 'UDP', 'SCTP']);
const IntOrString = z.union([int32(), str()]);
const portName = str({ max: 63, pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, what: 'a lowercase RFC 1123 label' });

/** Fields of core objects this project does not interpret, passed through as written. */
const Fragment = z.record(z.string(), z.unknown());

export const Namespace = resource('Namespace', {
  spec: z.strictObject({ finalizers: list(str()).optional() }).optional(),
  status: z.strictObject({ phase: z.enum(['Active', 'Terminating']).optional(), conditions: list(Fragment).optional() }).optional(),
});
export type Namespace = z.input<typeof Namespace>;

export const ServicePort = z.strictObject({
  name: portName.optional(),
  protocol: Protocol.default('TCP'),
  appProtocol: str().optional(),
  port: int32(1, 65535),
  targetPort: IntOrString.optional(),
  nodePort: int32(0, 65535).optional(),
});
export type ServicePort = z.input<typeof ServicePort>;

export const ServiceSpec = z
  .strictObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).default('ClusterIP'),
    ports: list(ServicePort).optional(),
    selector: z.record(z.string(), z.string()).optional(),
    clusterIP: str().optional(),
    clusterIPs: list(str(), 2).optional(),
    externalName: str().optional(),
    externalIPs: list(str()).optional(),
    sessionAffinity: z.enum(['ClientIP', 'None']).optional(),
    sessionAffinityConfig: Fragment.optional(),
    externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    loadBalancerIP: str().optional(),
    loadBalancerSourceRanges: list(str()).optional(),
    loadBalancerClass: str().optional(),
    allocateLoadBalancerNodePorts: z.boolean().optional(),
    healthCheckNodePort: int32().optional(),
    ipFamilies: list(z.enum(['IPv4', 'IPv6']), 2).optional(),
    ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack', 'RequireDualStack']).optional(),
    publishNotReadyAddresses: z.boolean().optional(),
    trafficDistribution: str().optional(),
  })
  .superRefine(
    rule((s, fail) => {
      const ports = s.ports ?? [];
      if (s.type === 'ExternalName') {
        if (!s.externalName) fail('externalName is required when type is ExternalName', 'externalName');
      } else if (ports.length === 0 && s.clusterIP !== 'None') fail('ports are required (except for ExternalName and headless Services)', 'ports');
      if (ports.length > 1) ports.forEach((p, i) => (!p.name ? fail('every port needs a name when a Service has several', 'ports', i, 'name') : undefined));
      unique(ports, (p) => p.name || undefined, (m, ...path) => fail(m, 'ports', ...path), (k) => `port name "${k}" is used more than once`, 'name');
      unique(ports, (p) => `${p.port}/${p.protocol ?? 'TCP'}`, (m, ...path) => fail(m, 'ports', ...path), (k) => `port ${k} is listed more than once`, 'port');
      if (s.clusterIP && s.clusterIP !== 'None' && !isIP(s.clusterIP)) fail('must be an IP address or "None"', 'clusterIP');
    }),
  );
export type ServiceSpec = z.input<typeof ServiceSpec>;

export const Service = resource('Service', {
  spec: ServiceSpec.optional(),
  status: z.strictObject({ loadBalancer: Fragment.optional(), conditions: list(Condition).optional() }).optional(),
});
export type Service = z.input<typeof Service>;

export const EndpointPort = z.strictObject({
  name: str().optional(),
  protocol: Protocol.default('TCP'),
  port: int32(0, 65535).optional(),
  appProtocol: str().optional(),
});
export type EndpointPort = z.input<typeof EndpointPort>;

export const Endpoint = z.strictObject({
  addresses: list(str(), 100, 1),
  conditions: z.strictObject({ ready: z.boolean().optional(), serving: z.boolean().optional(), terminating: z.boolean().optional() }).optional(),
  hostname: str().optional(),
  targetRef: Fragment.optional(),
  deprecatedTopology: z.record(z.string(), z.string()).optional(),
  nodeName: str().optional(),
  zone: str().optional(),
  hints: z
    .strictObject({ forZones: list(z.strictObject({ name: str() })).optional(), forNodes: list(z.strictObject({ name: str() })).optional() })
    .optional(),
});
export type Endpoint = z.input<typeof Endpoint>;

export const EndpointSlice = resource('EndpointSlice', {
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: list(Endpoint, 1000).optional(),
  ports: list(EndpointPort, 100).optional(),
}).superRefine(
  rule((s, fail) => {
    s.endpoints?.forEach((e, i) =>
      e.addresses.forEach((a, j) => {
        const ok = s.addressType === 'FQDN' ? /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(a) : isIP(a) && a.includes(':') === (s.addressType === 'IPv6');
        if (!ok) fail(`must be an ${s.addressType} address`, 'endpoints', i, 'addresses', j);
      }),
    );
  }),
);
export type EndpointSlice = z.input<typeof EndpointSlice>;

export const ServiceImport = resource('ServiceImport', {
  spec: z.strictObject({
    ports: list(z.strictObject({ name: str().optional(), protocol: Protocol.default('TCP'), appProtocol: str().optional(), port: int32(1, 65535) })).optional(),
    ips: list(str(), 2).optional(),
    type: z.enum(['ClusterSetIP', 'Headless']).optional(),
    sessionAffinity: z.enum(['ClientIP', 'None']).optional(),
    sessionAffinityConfig: Fragment.optional(),
  }),
  status: z.strictObject({ clusters: list(z.strictObject({ cluster: str() })).optional() }).optional(),
});
export type ServiceImport = z.input<typeof ServiceImport>;

const base64 = str({ pattern: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, what: 'base64-encoded data' });
const dataKey = str({ min: 1, max: 253, pattern: /^[-._a-zA-Z0-9]+$/, what: 'a key of letters, digits, "-", "_" and "."' });

export const Secret = resource('Secret', {
  type: str().optional(),
  data: z.record(dataKey, base64).optional(),
  stringData: z.record(dataKey, z.string()).optional(),
  immutable: z.boolean().optional(),
});
export type Secret = z.input<typeof Secret>;

export const ConfigMap = resource('ConfigMap', {
  data: z.record(dataKey, z.string()).optional(),
  binaryData: z.record(dataKey, base64).optional(),
  immutable: z.boolean().optional(),
}).superRefine(
  rule((c, fail) => {
    for (const k of Object.keys(c.binaryData ?? {})) if (c.data && k in c.data) fail(`key "${k}" is in both data and binaryData`, 'binaryData', k);
  }),
);
export type ConfigMap = z.input<typeof ConfigMap>;

export const ClusterTrustBundle = resource('ClusterTrustBundle', {
  spec: z.strictObject({
    signerName: str().optional(),
    trustBundle: str({ min: 1 }),
  }),
});
export type ClusterTrustBundle = z.input<typeof ClusterTrustBundle>;
