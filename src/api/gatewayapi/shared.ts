// Types the Gateway API kinds share (gateway.networking.k8s.io, v1.6 standard and experimental
// channels): names and their formats, references between objects, route and policy status.
import { Condition } from '../meta.js';
import { type Fail, int32, list, rule, str, stringMap, z } from '../schema.js';

const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS name, optionally with a leading `*.` wildcard label. IPs are not hostnames. */
export const Hostname = str({
  min: 1,
  max: 253,
  pattern: /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  what: 'a lowercase RFC 1123 hostname, optionally prefixed with a "*." wildcard label',
});
export type Hostname = z.infer<typeof Hostname>;

/** A DNS name without wildcard. */
export const PreciseHostname = str({ min: 1, max: 253, pattern: dnsSubdomainPattern, what: 'a lowercase RFC 1123 hostname' });

/** An API group: empty for the core group, else a DNS subdomain. */
export const Group = str({ max: 253, pattern: /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, what: 'empty or a DNS subdomain' });
export const Kind = str({ min: 1, max: 63, pattern: /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, what: 'a kind name (letters, digits, dashes; starting with a letter)' });
export const ObjectName = str({ min: 1, max: 253 });
export const Namespace = str({ min: 1, max: 63, pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, what: 'a lowercase RFC 1123 label' });
export const SectionName = str({ min: 1, max: 253, pattern: dnsSubdomainPattern, what: 'a lowercase RFC 1123 subdomain' });
export const PortNumber = int32(1, 65535);
export const GatewayController = str({
  min: 1,
  max: 253,
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$/,
  what: 'a domain-prefixed path, e.g. example.com/controller',
});

/** An HTTP header name (RFC 7230 token). Pseudo-headers such as `:method` are not allowed. */
export const HeaderName = str({ min: 1, max: 256, pattern: /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, what: 'an HTTP header name (RFC 7230 token characters)' });

/** Gateway API duration (GEP-2257): 1 to 4 `<number><unit>` pairs, units h, m, s, ms. */
export const Duration = str({ pattern: /^([0-9]{1,5}(h|m|s|ms)){1,4}$/, what: 'a duration such as 1h, 30s or 1m30s500ms (GEP-2257)' });

/** A duration string to milliseconds, or undefined when it is not a Gateway API duration. */
export function durationMillis(d: string): number | undefined {
  const re = /([0-9]{1,5})(h|ms|m|s)/y;
  let total = 0;
  let m: RegExpExecArray | null;
  let at = 0;
  re.lastIndex = 0;
  while (at < d.length && (m = re.exec(d))) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : n;
    at = re.lastIndex;
  }
  return at === d.length && d.length > 0 ? total : undefined;
}

const annotationKeyPattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/;
export const AnnotationKey = str({ min: 1, max: 253, pattern: annotationKeyPattern, what: 'an annotation key (optional prefix/, then a name)' });
export const AnnotationValue = str({ max: 4096 });
export const LabelKey = str({ min: 1, max: 253, pattern: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/, what: 'a label key (optional DNS prefix/, then a name)' });
export const LabelValue = str({ max: 63, pattern: /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, what: 'a label value' });

/** metav1.LabelSelector. */
export const LabelSelectorRequirement = z.strictObject({
  key: z.string(),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string()).optional(),
});
export const LabelSelector = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(LabelSelectorRequirement).optional(),
});
export type LabelSelector = z.input<typeof LabelSelector>;

/** A reference to a parent of a route (a Gateway, a ListenerSet, or an implementation's kind). */
export const ParentReference = z.strictObject({
  group: Group.default('gateway.networking.k8s.io'),
  kind: Kind.default('Gateway'),
  namespace: Namespace.optional(),
  name: ObjectName,
  sectionName: SectionName.optional(),
  port: PortNumber.optional(),
});
export type ParentReference = z.input<typeof ParentReference>;

const parentKey = (p: ParentReference) => `${p.group ?? 'gateway.networking.k8s.io'}/${p.kind ?? 'Gateway'}/${p.namespace ?? ''}/${p.name}`;

/** parentRefs: two references to the same parent must tell themselves apart by section or port. */
export const ParentRefs = list(ParentReference, 32).superRefine(
  rule<ParentReference[]>((refs, fail) => {
    if (refs.length < 2) return;
    const byParent = new Map<string, number[]>();
    refs.forEach((r, i) => {
      const k = parentKey(r);
      const at = byParent.get(k);
      if (at) at.push(i);
      else byParent.set(k, [i]);
    });
    for (const idx of byParent.values()) {
      if (idx.length < 2) continue;
      const seen = new Set<string>();
      for (const i of idx) {
        const r = refs[i]!;
        if (!r.sectionName && r.port === undefined) {
          fail('sectionName or port must be given when parentRefs name the same parent more than once', i);
          continue;
        }
        const k = `${r.sectionName ?? ''}:${r.port ?? ''}`;
        if (seen.has(k)) fail('sectionName and port must be unique among parentRefs that name the same parent', i);
        seen.add(k);
      }
    }
  }),
);

/** The parent and default-gateway fields every route kind has. */
export const CommonRouteSpec = {
  parentRefs: ParentRefs.optional(),
  /** Experimental: whether the route attaches to the default Gateway(s). */
  useDefaultGateways: z.enum(['All', 'None']).optional(),
};

/** A reference to an object in the same namespace (filters, policy targets...). */
export const LocalObjectReference = z.strictObject({ group: Group, kind: Kind, name: ObjectName });
export type LocalObjectReference = z.input<typeof LocalObjectReference>;

/** A reference to a namespaced object, possibly in another namespace (needs a ReferenceGrant). */
export const ObjectReference = z.strictObject({ group: Group, kind: Kind, name: ObjectName, namespace: Namespace.optional() });
export type ObjectReference = z.input<typeof ObjectReference>;

/** A reference to a Secret (or another kind holding certificates). */
export const SecretObjectReference = z.strictObject({
  group: Group.default(''),
  kind: Kind.default('Secret'),
  name: ObjectName,
  namespace: Namespace.optional(),
});
export type SecretObjectReference = z.input<typeof SecretObjectReference>;

const backendObjectShape = {
  group: Group.default(''),
  kind: Kind.default('Service'),
  name: ObjectName,
  namespace: Namespace.optional(),
  port: PortNumber.optional(),
};

export const servicePortRequired = rule<{ group?: string; kind?: string; port?: number }>((r, fail) => {
  if ((r.group ?? '') === '' && (r.kind ?? 'Service') === 'Service' && r.port === undefined) {
    fail('port is required when referring to a Service', 'port');
  }
});

/** A reference to a backend: a Service by default, or any kind the implementation supports. */
export const BackendObjectReference = z.strictObject(backendObjectShape).superRefine(servicePortRequired);
export type BackendObjectReference = z.input<typeof BackendObjectReference>;

export const backendRefShape = { ...backendObjectShape, weight: int32(0, 1_000_000).default(1) };

/** A weighted backend reference, as used by TCP, UDP and TLS routes. */
export const BackendRef = z.strictObject(backendRefShape).superRefine(servicePortRequired);
export type BackendRef = z.input<typeof BackendRef>;

/** Session persistence for a route rule or a backend (experimental). */
export const SessionPersistence = z
  .strictObject({
    sessionName: str({ max: 128 }).optional(),
    absoluteTimeout: Duration.optional(),
    idleTimeout: Duration.optional(),
    type: z.enum(['Cookie', 'Header']).default('Cookie'),
    cookieConfig: z.strictObject({ lifetimeType: z.enum(['Permanent', 'Session']).default('Session') }).optional(),
  })
  .superRefine(
    rule((s, fail) => {
      if (s.cookieConfig?.lifetimeType === 'Permanent' && !s.absoluteTimeout) {
        fail('absoluteTimeout is required when cookieConfig.lifetimeType is Permanent', 'absoluteTimeout');
      }
    }),
  );
export type SessionPersistence = z.input<typeof SessionPersistence>;

/** numerator/denominator, numerator never above denominator. */
export const Fraction = z
  .strictObject({ numerator: int32(0), denominator: int32(1).default(100) })
  .superRefine(
    rule((f, fail) => {
      if (f.numerator > (f.denominator ?? 100)) fail('numerator must not exceed denominator', 'numerator');
    }),
  );
export type Fraction = z.input<typeof Fraction>;

export const Conditions = list(Condition, 8);

/** The status a route's parent writes for it. */
export const RouteParentStatus = z.strictObject({
  parentRef: ParentReference,
  controllerName: GatewayController,
  conditions: Conditions.optional(),
});
export type RouteParentStatus = z.input<typeof RouteParentStatus>;

// Written by controllers, not users: a controller that found no parent may leave the list out.
export const RouteStatus = z.strictObject({ parents: list(RouteParentStatus, 32).optional() });
export type RouteStatus = z.input<typeof RouteStatus>;

/** A policy's target in its own namespace. */
export const LocalPolicyTargetReference = z.strictObject({ group: Group, kind: Kind, name: ObjectName });
export type LocalPolicyTargetReference = z.input<typeof LocalPolicyTargetReference>;

export const LocalPolicyTargetReferenceWithSectionName = z.strictObject({
  group: Group,
  kind: Kind,
  name: ObjectName,
  sectionName: SectionName.optional(),
});
export type LocalPolicyTargetReferenceWithSectionName = z.input<typeof LocalPolicyTargetReferenceWithSectionName>;

/** The status one policy controller writes for one ancestor (Gateway, route...) of the target. */
export const PolicyAncestorStatus = z.strictObject({
  ancestorRef: ParentReference,
  controllerName: GatewayController,
  conditions: list(Condition, 8),
});
export type PolicyAncestorStatus = z.input<typeof PolicyAncestorStatus>;

export const PolicyStatus = z.strictObject({ ancestors: list(PolicyAncestorStatus, 16).optional() });
export type PolicyStatus = z.input<typeof PolicyStatus>;

/** Kubernetes-style options map (implementation-specific keys). */
export const Options = stringMap(AnnotationValue, 16, AnnotationKey);

/** targetRefs naming the same target twice must tell them apart by sectionName. */
export function targetRefsWithSectionName(refs: readonly LocalPolicyTargetReferenceWithSectionName[], fail: Fail): void {
  const seen = new Map<string, Set<string | undefined>>();
  refs.forEach((r, i) => {
    const k = `${r.group}/${r.kind}/${r.name}`;
    let sections = seen.get(k);
    if (!sections) seen.set(k, (sections = new Set()));
    else if (!r.sectionName || sections.has(undefined)) {
      fail('sectionName must be given when targetRefs name the same target more than once', i);
      return;
    } else if (sections.has(r.sectionName)) {
      fail('sectionName must be unique among targetRefs that name the same target', i);
      return;
    }
    sections.add(r.sectionName);
  });
}
