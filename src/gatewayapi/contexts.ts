// The working state of one translation: each Gateway with its listeners (its own and those of
// attached ListenerSets), each route with its parent references. Statuses are written into
// fresh copies of the input objects, which the translation result hands back.
import type { EnvoyProxy } from '../api/envoygateway/index.js';
import type {
  AllowedRoutes, Gateway, GRPCRoute, HTTPRoute, LabelSelector, Listener, ListenerSet, ListenerTLSConfig, ParentReference, RouteParentStatus,
  TCPRoute, TLSRoute, UDPRoute,
} from '../api/gatewayapi/index.js';
import type { Condition } from '../api/meta.js';
import type { Secret } from '../api/core/index.js';
import type { HTTPListener } from '../ir/xds.js';
import type { FrontendValidation } from './gatewaytls.js';
import { hasCondition, setCondition, type ConditionStatus } from './status.js';

export const GatewayGroup = 'gateway.networking.k8s.io';
export const EnvoyGatewayGroup = 'gateway.envoyproxy.io';
export const MultiClusterGroup = 'multicluster.x-k8s.io';

export interface RouteGroupKind {
  group?: string;
  kind: string;
}

export interface ListenerStatus {
  name: string;
  supportedKinds: RouteGroupKind[];
  attachedRoutes: number;
  conditions: Condition[];
}

/** A listener as written in a Gateway or a ListenerSet. */
export type ListenerSpec = Listener;

/** An output object: a copy of an input object with a status of its own. */
export type WithStatus<T extends { status?: unknown }> = T & { status: NonNullable<T['status']> };

/** A copy of an object with a status of its own, so that the input is never modified. */
export function withFreshStatus<T extends { status?: unknown }>(o: T, status: NonNullable<T['status']>): WithStatus<T> {
  return { ...o, status };
}

/** The gateway's status as the translator writes it. */
type TranslatedGateway = WithStatus<Gateway>;

/** An EnvoyProxy as a Gateway's proxy is configured by it. */
export type ProxyConfig = Omit<EnvoyProxy, 'apiVersion' | 'kind'> & Partial<Pick<EnvoyProxy, 'apiVersion' | 'kind'>>;

export class GatewayContext {
  readonly listeners: ListenerContext[] = [];
  /**
   * The EnvoyProxy that configures this Gateway's proxy: its own, its GatewayClass's, or one made
   * of the EnvoyGateway configuration's default spec (which has no apiVersion or kind).
   */
  envoyProxy?: ProxyConfig;
  /** The EnvoyProxy of the Gateway's own infrastructure.parametersRef, when that is the one used. */
  ownEnvoyProxy?: WithStatus<EnvoyProxy>;
  attachedListenerSets = 0;

  constructor(readonly gateway: TranslatedGateway) {}

  get namespace(): string {
    return this.gateway.metadata.namespace ?? '';
  }
  get name(): string {
    return this.gateway.metadata.name;
  }

  /** Rebuilds the listener statuses from the spec (stale ones from the input are dropped). */
  resetListeners(): void {
    const specs: ListenerSpec[] = this.gateway.spec?.listeners ?? [];
    const statuses: ListenerStatus[] = [];
    this.listeners.length = 0;
    for (const spec of specs) {
      const st: ListenerStatus = { name: spec.name ?? '', supportedKinds: [], attachedRoutes: 0, conditions: [] };
      statuses.push(st);
      this.listeners.push(new ListenerContext(spec, this, st));
    }
    this.gateway.status = { ...this.gateway.status, listeners: statuses };
  }

  setCondition(type: string, status: ConditionStatus, reason: string, message: string): void {
    setCondition((this.gateway.status.conditions ??= []), type, status, reason, message);
  }

  /** Whether some earlier step rejected the Gateway (Accepted=False). */
  get notAccepted(): boolean {
    return hasCondition(this.gateway.status?.conditions, 'Accepted', 'False');
  }
}

export class ListenerContext {
  namespaceSelector?: LabelSelector;
  /** Certificates (Secrets) of a TLS-terminating listener, valid ones only. */
  tlsSecrets: Secret[] = [];
  /** DNS names of the certificates, for the overlapping-certificates check. */
  certDNSNames: string[] = [];
  /** Frontend client validation (CA certificate) resolved for this listener, if any. */
  frontendValidation?: FrontendValidation;
  /** The IR listener once created (HTTP listeners only; for the TLS overlap flag). */
  httpIR?: HTTPListener;

  constructor(
    readonly spec: ListenerSpec,
    readonly gateway: GatewayContext,
    readonly status: ListenerStatus,
    /** The ListenerSet this listener comes from, when not the Gateway itself. */
    readonly listenerSet?: ListenerSet,
  ) {}

  get name(): string {
    return this.spec.name ?? '';
  }
  get port(): number {
    return this.spec.port;
  }
  get protocol(): string {
    return this.spec.protocol;
  }
  get hostname(): string | undefined {
    return this.spec.hostname || undefined;
  }
  get tls(): ListenerTLSConfig | undefined {
    return this.spec.tls;
  }
  get allowedRoutes(): AllowedRoutes | undefined {
    return this.spec.allowedRoutes;
  }

  get conditions(): Condition[] {
    return this.status.conditions;
  }

  setCondition(type: string, status: ConditionStatus, reason: string, message: string): void {
    setCondition(this.status.conditions, type, status, reason, message);
  }

  hasCondition(type: string, status: ConditionStatus): boolean {
    return hasCondition(this.status.conditions, type, status);
  }

  setSupportedKinds(kinds: RouteGroupKind[]): void {
    this.status.supportedKinds = kinds;
  }

  allowsKind(kind: string): boolean {
    return this.status.supportedKinds.some((k) => (k.group || GatewayGroup) === GatewayGroup && k.kind === kind);
  }

  /** A listener is ready when it is Programmed. */
  get ready(): boolean {
    return this.hasCondition('Programmed', 'True');
  }

  /** The IR name: `<gw ns>/<gw name>/<listener>`, with the ListenerSet in between for theirs. */
  get irName(): string {
    const g = this.gateway;
    if (this.listenerSet) {
      const ls = this.listenerSet.metadata;
      return `${g.namespace}/${g.name}/${ls.namespace}/${ls.name}/${this.name}`;
    }
    return `${g.namespace}/${g.name}/${this.name}`;
  }
}

/** Route kinds, as the IR names them in lower case. */
export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'UDPRoute';

/** Any route kind, as written. */
export type Route = HTTPRoute | GRPCRoute | TLSRoute | TCPRoute | UDPRoute;

/** A route parent's status entry as the translator keeps it: conditions always present. */
export type ParentStatus = RouteParentStatus & { conditions: Condition[] };

/** A route as translated: a copy whose status lists its parents. */
export type TranslatedRoute<R extends Route = Route> = Omit<R, 'status'> & { status: { parents: ParentStatus[] } };

export class RouteContext<R extends Route = Route> {
  readonly parents: RouteParentContext[] = [];

  constructor(
    readonly kind: RouteKind,
    readonly route: TranslatedRoute<R>,
  ) {}

  get namespace(): string {
    return this.route.metadata.namespace ?? '';
  }
  get name(): string {
    return this.route.metadata.name;
  }
  get spec(): Partial<R['spec']> {
    return this.route.spec ?? {};
  }
  get hostnames(): string[] {
    if (this.kind === 'TCPRoute' || this.kind === 'UDPRoute') return [];
    // HTTP, GRPC and TLS routes have hostnames.
    return (this.spec as { hostnames?: string[] }).hostnames ?? [];
  }
  get parentRefs(): ParentReference[] {
    return this.spec.parentRefs ?? [];
  }
  /** `httproute/<ns>/<name>/`, the prefix of every IR name of this route. */
  get irPrefix(): string {
    return `${this.kind.toLowerCase()}/${this.namespace}/${this.name}/`;
  }
}

export class RouteParentContext {
  listeners: ListenerContext[] = [];
  gateway?: GatewayContext;

  constructor(
    readonly route: RouteContext,
    readonly ref: ParentReference,
    readonly status: ParentStatus,
  ) {}

  setCondition(type: string, status: ConditionStatus, reason: string, message: string): void {
    setCondition(this.status.conditions, type, status, reason, message);
  }

  hasCondition(type: string, status: ConditionStatus): boolean {
    return hasCondition(this.status.conditions, type, status);
  }
}
