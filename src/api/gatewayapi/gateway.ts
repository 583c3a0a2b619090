// Gateway and its listeners (the listener rules are shared with ListenerSet), GatewayClass.
import { Condition, resource } from '../meta.js';
import { type Fail, int32, isIP, list, rule, str, stringMap, unique, z } from '../schema.js';
import {
  AnnotationValue,
  Conditions,
  GatewayController,
  Group,
  Hostname,
  Kind,
  LabelKey,
  LabelSelector,
  LabelValue,
  Namespace,
  ObjectName,
  ObjectReference,
  Options,
  PortNumber,
  SecretObjectReference,
  SectionName,
} from './shared.js';

/** HTTP, HTTPS, TLS, TCP, UDP, or a domain-prefixed implementation protocol (example.com/proto). */
export const ProtocolType = str({
  min: 1,
  max: 255,
  pattern: /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/,
  what: 'a protocol name (HTTP, HTTPS, TLS, TCP, UDP) or a domain-prefixed one such as example.com/proto',
});

export const ListenerTLSConfig = z
  .strictObject({
    mode: z.enum(['Terminate', 'Passthrough']).default('Terminate'),
    certificateRefs: list(SecretObjectReference, 64).optional(),
    options: Options.optional(),
  })
  .superRefine(
    rule((t, fail) => {
      if ((t.mode ?? 'Terminate') === 'Terminate' && !t.certificateRefs?.length && !Object.keys(t.options ?? {}).length) {
        fail('certificateRefs or options are required when mode is Terminate', 'certificateRefs');
      }
    }),
  );
export type ListenerTLSConfig = z.input<typeof ListenerTLSConfig>;

export const RouteGroupKind = z.strictObject({ group: Group.default('gateway.networking.k8s.io'), kind: Kind });
export type RouteGroupKind = z.input<typeof RouteGroupKind>;

export const AllowedRoutes = z.strictObject({
  namespaces: z
    .strictObject({ from: z.enum(['All', 'Selector', 'Same']).default('Same'), selector: LabelSelector.optional() })
    .prefault({ from: 'Same' }),
  kinds: list(RouteGroupKind, 8).optional(),
});
export type AllowedRoutes = z.input<typeof AllowedRoutes>;

export const Listener = z.strictObject({
  name: SectionName,
  hostname: Hostname.optional(),
  port: PortNumber,
  protocol: ProtocolType,
  tls: ListenerTLSConfig.optional(),
  allowedRoutes: AllowedRoutes.prefault({ namespaces: { from: 'Same' } }),
});
export type Listener = z.input<typeof Listener>;

const isProtocol = (p: string, ...names: string[]) => names.includes(p.toUpperCase());

/** The rules a list of listeners obeys, on a Gateway or a ListenerSet. */
export function checkListeners(
  listeners: readonly { name: string; hostname?: string; port?: number; protocol: string; tls?: { mode?: string } }[],
  fail: Fail,
  owner: string,
): void {
  listeners.forEach((l, i) => {
    if (isProtocol(l.protocol, 'HTTP', 'TCP', 'UDP') && l.tls) fail(`tls may not be set for protocol ${l.protocol}`, i, 'tls');
    if (isProtocol(l.protocol, 'HTTPS') && l.tls?.mode && l.tls.mode !== 'Terminate') fail('tls.mode must be Terminate for protocol HTTPS', i, 'tls', 'mode');
    if (isProtocol(l.protocol, 'TLS') && !l.tls) fail('tls (with its mode) is required for protocol TLS', i, 'tls');
    if (isProtocol(l.protocol, 'TCP', 'UDP') && l.hostname) fail(`hostname may not be set for protocol ${l.protocol}`, i, 'hostname');
  });
  unique(listeners, (l) => l.name, fail, (k) => `listener name "${k}" is used more than once in the ${owner}`, 'name');
  // A ListenerSet compares protocols case-insensitively; a Gateway as written.
  const protocol = (p: string) => (owner === 'ListenerSet' ? p.toLowerCase() : p);
  unique(
    listeners,
    (l) => `${l.port ?? ''}|${protocol(l.protocol)}|${l.hostname ?? ''}`,
    fail,
    () => 'the combination of port, protocol and hostname must be unique among listeners',
  );
}

export const GatewaySpecAddress = z
  .strictObject({
    type: str({
      min: 1,
      max: 253,
      pattern: /^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$/,
      what: 'Hostname, IPAddress, NamedAddress or a domain-prefixed type',
    }).default('IPAddress'),
    value: str({ max: 253 }).optional(),
  })
  .superRefine(
    rule((a, fail) => {
      if (a.type === 'Hostname' && a.value && !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(a.value)) {
        fail('must be empty or a lowercase RFC 1123 hostname when type is Hostname', 'value');
      }
      if ((a.type ?? 'IPAddress') === 'IPAddress' && a.value && !isIP(a.value)) fail('must be an IP address when type is IPAddress', 'value');
    }),
  );
export type GatewaySpecAddress = z.input<typeof GatewaySpecAddress>;

const mapKeyPattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;

export const LocalParametersReference = z.strictObject({ group: Group, kind: Kind, name: str({ min: 1, max: 253 }) });
export type LocalParametersReference = z.input<typeof LocalParametersReference>;

export const GatewayInfrastructure = z.strictObject({
  labels: stringMap(LabelValue, 8, LabelKey).optional(),
  annotations: stringMap(AnnotationValue, 16, str({ min: 1, max: 253, pattern: mapKeyPattern, what: 'an annotation key (optional DNS prefix/, then a name)' })).optional(),
  parametersRef: LocalParametersReference.optional(),
});
export type GatewayInfrastructure = z.input<typeof GatewayInfrastructure>;

export const FrontendTLSValidation = z.strictObject({
  caCertificateRefs: list(ObjectReference, 8, 1),
  mode: z.enum(['AllowValidOnly', 'AllowInsecureFallback']).default('AllowValidOnly'),
});
export const TLSConfig = z.strictObject({ validation: FrontendTLSValidation.optional() });

export const GatewayTLSConfig = z.strictObject({
  backend: z.strictObject({ clientCertificateRef: SecretObjectReference.optional() }).optional(),
  frontend: z
    .strictObject({
      default: TLSConfig,
      perPort: list(z.strictObject({ port: PortNumber, tls: TLSConfig }), 64)
        .superRefine(rule((ps, fail) => unique(ps, (p) => String(p.port), fail, (k) => `port ${k} has more than one TLS configuration`, 'port')))
        .optional(),
    })
    .optional(),
});
export type GatewayTLSConfig = z.input<typeof GatewayTLSConfig>;

export const AllowedListeners = z.strictObject({
  namespaces: z
    .strictObject({ from: z.enum(['All', 'Selector', 'Same', 'None']).default('None'), selector: LabelSelector.optional() })
    .prefault({ from: 'None' }),
});
export type AllowedListeners = z.input<typeof AllowedListeners>;

export const GatewaySpec = z.strictObject({
  gatewayClassName: ObjectName,
  listeners: list(Listener, 64, 1).superRefine(rule((ls, fail) => checkListeners(ls, fail, 'Gateway'))),
  addresses: list(GatewaySpecAddress, 16)
    .superRefine(
      rule((as, fail) => {
        for (const t of ['IPAddress', 'Hostname']) {
          unique(as, (a) => ((a.type ?? 'IPAddress') === t && a.value ? a.value : undefined), fail, (k) => `${t} address ${k} is listed more than once`, 'value');
        }
      }),
    )
    .optional(),
  infrastructure: GatewayInfrastructure.optional(),
  allowedListeners: AllowedListeners.optional(),
  tls: GatewayTLSConfig.optional(),
  defaultScope: z.enum(['All', 'None']).optional(),
});
export type GatewaySpec = z.input<typeof GatewaySpec>;

export const GatewayStatusAddress = z
  .strictObject({ type: str({ min: 1, max: 253 }).default('IPAddress'), value: str({ min: 1, max: 253 }) })
  .superRefine(
    rule((a, fail) => {
      if (a.type === 'Hostname' && !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(a.value)) {
        fail('must be a lowercase RFC 1123 hostname when type is Hostname', 'value');
      }
    }),
  );
export type GatewayStatusAddress = z.input<typeof GatewayStatusAddress>;

export const ListenerStatus = z.strictObject({
  name: SectionName,
  supportedKinds: list(RouteGroupKind, 8).optional(),
  attachedRoutes: int32(),
  conditions: Conditions,
});
export type ListenerStatus = z.input<typeof ListenerStatus>;

export const GatewayStatus = z.strictObject({
  addresses: list(GatewayStatusAddress, 16).optional(),
  conditions: Conditions.optional(),
  listeners: list(ListenerStatus, 64).optional(),
  attachedListenerSets: int32().optional(),
});
export type GatewayStatus = z.input<typeof GatewayStatus>;

export const Gateway = resource('Gateway', { spec: GatewaySpec, status: GatewayStatus.optional() });
export type Gateway = z.input<typeof Gateway>;

export const ParametersReference = z.strictObject({
  group: Group,
  kind: Kind,
  name: str({ min: 1, max: 253 }),
  namespace: Namespace.optional(),
});
export type ParametersReference = z.input<typeof ParametersReference>;

export const GatewayClassSpec = z.strictObject({
  controllerName: GatewayController,
  parametersRef: ParametersReference.optional(),
  description: str({ max: 64 }).optional(),
});
export type GatewayClassSpec = z.input<typeof GatewayClassSpec>;

export const GatewayClassStatus = z.strictObject({
  conditions: list(Condition, 8).optional(),
  supportedFeatures: list(z.strictObject({ name: str({ min: 1 }) }), 64).optional(),
});
export type GatewayClassStatus = z.input<typeof GatewayClassStatus>;

export const GatewayClass = resource('GatewayClass', { spec: GatewayClassSpec, status: GatewayClassStatus.optional() });
export type GatewayClass = z.input<typeof GatewayClass>;
