// The working state of one translation: each Gateway with its listeners (its own and those of
// attached ListenerSets), each route with its parent references. Statuses are written into
// fresh copies of the input objects, which the translation result hands back.
import type { Condition } from '../api/meta.js';
import type { AnyObject } from '../resources/resources.js';
import { hasCondition, setCondition, type ConditionStatus } from './status.js';

export const GatewayGroup = 'gateway.networking.k8s.io';

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
export interface ListenerSpec {
  name: string;
  hostname?: string;
  port: number;
  protocol: string;
  tls?: any;
  allowedRoutes?: any;
}

/** A copy of an object with a status of its own, so that the input is never modified. */
export function withFreshStatus<T extends AnyObject>(o: T, status: Record<string, unknown>): T {
  return { ...o, status };
}

export class GatewayContext {
  readonly listeners: ListenerContext[] = [];
  /** The EnvoyProxy that configures this Gateway's proxy (merged from GatewayClass and Gateway). */
  envoyProxy?: AnyObject;
  /** True when the EnvoyProxy comes from the Gateway's own infrastructure.parametersRef. */
  envoyProxyFromGateway = false;
  attachedListenerSets = 0;

  constructor(readonly gateway: AnyObject) {}

  get namespace(): string {
    return this.gateway.metadata.namespace ?? '';
  }
  get name(): string {
    return this.gateway.metadata.name;
  }
  get status(): any {
    return this.gateway.status;
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
    this.gateway.status = { ...(this.gateway.status ?? {}), listeners: statuses };
  }

  setCondition(type: string, status: ConditionStatus, reason: string, message: string): void {
    const st = (this.gateway.status ??= {});
    st.conditions ??= [];
    setCondition(st.conditions, type, status, reason, message);
  }

  /** Whether some earlier step rejected the Gateway (Accepted=False). */
  get notAccepted(): boolean {
    return hasCondition(this.gateway.status?.conditions, 'Accepted', 'False');
  }
}

export class ListenerContext {
  namespaceSelector?: any;
  /** Certificates (Secrets) of a TLS-terminating listener, valid ones only. */
  tlsSecrets: AnyObject[] = [];
  /** DNS names of the certificates, for the overlapping-certificates check. */
  certDNSNames: string[] = [];
  /** Frontend client validation (CA certificate) resolved for this listener, if any. */
  frontendValidation?: any;
  /** The IR listener once created (HTTP listeners only; for the TLS overlap flag). */
  httpIR?: any;

  constructor(
    readonly spec: ListenerSpec,
    readonly gateway: GatewayContext,
    readonly status: ListenerStatus,
    /** The ListenerSet this listener comes from, when not the Gateway itself. */
    readonly listenerSet?: AnyObject,
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
  get tls(): any {
    return this.spec.tls;
  }
  get allowedRoutes(): any {
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

export interface RouteParentStatus {
  parentRef: any;
  controllerName: string;
  conditions: Condition[];
}

export class RouteContext {
  readonly parents: RouteParentContext[] = [];

  constructor(
    readonly kind: RouteKind,
    readonly route: AnyObject,
  ) {}

  get namespace(): string {
    return this.route.metadata.namespace ?? '';
  }
  get name(): string {
    return this.route.metadata.name;
  }
  get spec(): any {
    return this.route.spec ?? {};
  }
  get hostnames(): string[] {
    if (this.kind === 'TCPRoute' || this.kind === 'UDPRoute') return [];
    return this.spec.hostnames ?? [];
  }
  get parentRefs(): any[] {
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
    readonly ref: any,
    readonly status: RouteParentStatus,
  ) {}

  setCondition(type: string, status: ConditionStatus, reason: string, message: string): void {
    setCondition(this.status.conditions, type, status, reason, message);
  }

  hasCondition(type: string, status: ConditionStatus): boolean {
    return hasCondition(this.status.conditions, type, status);
  }
}
