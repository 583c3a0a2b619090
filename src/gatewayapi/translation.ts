// The state of one run of the translator: settings, indexes over the input, the IR being built,
// and the contexts of the Gateways being translated. Every stage module works on it.
import type { Backend, EnvoyProxy } from '../api/envoygateway/index.js';
import type { BackendTLSPolicy, GatewayClass, ListenerSet } from '../api/gatewayapi/index.js';
import type { Infra } from '../ir/infra.js';
import type { Xds } from '../ir/xds.js';
import type { Resources } from '../resources/resources.js';
import type { RoutingTypeIndex } from './btpindex.js';
import type { GatewayContext, WithStatus } from './contexts.js';
import { Lookups } from './lookups.js';
import { ClusterSharing } from './mergebackends.js';
import type { TranslatorSettings } from './settings.js';
import type { RouteError } from './status.js';

export class Translation {
  readonly lookups: Lookups;
  /** One xDS IR per proxy (Envoy Gateway's `ir.Xds`), keyed by irKey. */
  readonly xdsIR: Record<string, Xds> = {};
  /** One infrastructure IR per proxy (Envoy Gateway's `ir.Infra`). */
  readonly infraIR: Record<string, Infra> = {};
  /** Gateways of our class that translate, in input order. */
  accepted: GatewayContext[] = [];
  /** Gateways of our class that were rejected as a whole (they still get an empty IR). */
  failed: GatewayContext[] = [];
  /** Gateways share one proxy (EnvoyProxy spec.mergeGateways). */
  readonly mergeGateways: boolean;
  /** The GatewayClass (with its status), when the input has it. */
  readonly gatewayClass?: WithStatus<GatewayClass>;
  /** The GatewayClass's EnvoyProxy with its status. */
  gatewayClassProxy?: WithStatus<EnvoyProxy>;
  /** EnvoyProxies referenced by Gateways, with their statuses. */
  gatewayProxies: WithStatus<EnvoyProxy>[] = [];
  /** ListenerSets with their statuses, in input order. */
  listenerSets: WithStatus<ListenerSet>[] = [];
  /** The Gateway each attached ListenerSet belongs to. */
  readonly listenerSetParents = new Map<ListenerSet, GatewayContext>();
  /** BackendTLSPolicies with their statuses, in input order. */
  backendTLSPolicies: WithStatus<BackendTLSPolicy>[] = [];
  /** Why a Backend is not valid, by input object. */
  readonly backendErrors = new Map<Backend, RouteError>();
  /** Routing types chosen by BackendTrafficPolicies, once Gateways are known. */
  routingTypes?: RoutingTypeIndex;
  /** The output copy of each Backend, by input object. */
  readonly backendCopies = new Map<Backend, WithStatus<Backend>>();
  /** Which routes' backends may share clusters (mergeBackends), as policies decide. */
  readonly clusterSharing = new ClusterSharing();

  constructor(
    readonly resources: Resources,
    readonly settings: TranslatorSettings,
  ) {
    this.lookups = new Lookups(resources);
    this.mergeGateways = mergeGatewaysEnabled(resources);
    if (resources.gatewayClass) this.gatewayClass = { ...resources.gatewayClass, status: { ...(resources.gatewayClass.status ?? {}) } };
  }

  /** The IR key of a Gateway: `<namespace>/<name>`, or the GatewayClass name when merged. */
  irKey(gateway: { namespace: string; name: string }): string {
    return this.mergeGateways ? this.settings.gatewayClassName : `${gateway.namespace}/${gateway.name}`;
  }

  get dnsDomain(): string {
    return this.settings.dnsDomain || 'cluster.local';
  }
}

/** Gateways are merged when the GatewayClass's EnvoyProxy (or the default spec) says so. */
export function mergeGatewaysEnabled(resources: Resources): boolean {
  const gc = resources.envoyProxyForGatewayClass?.spec?.mergeGateways;
  if (gc !== undefined && gc !== null) return !!gc;
  return !!resources.envoyProxyDefaultSpec?.mergeGateways;
}
