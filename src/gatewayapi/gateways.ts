// Which Gateways this GatewayClass translates, which EnvoyProxy configures each, and the empty
// IR each one starts with.
import type { EnvoyProxy } from '../api/envoygateway/index.js';
import type { GatewayClass } from '../api/gatewayapi/index.js';
import type { InfraMetadata, ProxyInfra } from '../ir/infra.js';
import { EnvoyGatewayGroup, GatewayContext, GatewayGroup, withFreshStatus, type WithStatus } from './contexts.js';
import type { AncestorRef } from './policystatus.js';
import { envoyProxyDeprecations, validateEnvoyProxy } from './envoyproxy.js';
import { mergeBackendsEnabledFor } from './mergebackends.js';
import { Reason, setCondition } from './status.js';
import type { Translation } from './translation.js';

export const OwningGatewayNameLabel = 'gateway.envoyproxy.io/owning-gateway-name';
export const OwningGatewayNamespaceLabel = 'gateway.envoyproxy.io/owning-gateway-namespace';
export const OwningGatewayClassLabel = 'gateway.envoyproxy.io/owning-gatewayclass';

/**
 * Sorts the Gateways of our class into accepted and failed ones, attaching each its EnvoyProxy,
 * and sets the GatewayClass and EnvoyProxy statuses this decides.
 */
export function processGateways(t: Translation): void {
  const { resources, settings } = t;
  const proxies = new Map<string, WithStatus<EnvoyProxy>>();
  const invalid = new Map<string, string>();
  const proxiesOut: WithStatus<EnvoyProxy>[] = [];

  // EnvoyProxies referenced by Gateways get statuses, so they are copied like every output.
  for (const ep of resources.envoyProxiesForGateways) {
    const k = `${ep.metadata.namespace}/${ep.metadata.name}`;
    const copy = withFreshStatus(ep, { ...(ep.status ?? {}) });
    proxies.set(k, copy);
    const err = validateEnvoyProxy(copy);
    if (err) invalid.set(k, err);
  }

  const classProxy = resources.envoyProxyForGatewayClass;
  let classProxyCopy: WithStatus<EnvoyProxy> | undefined;
  if (classProxy) {
    classProxyCopy = withFreshStatus(classProxy, { ...(classProxy.status ?? {}) });
    t.gatewayClassProxy = classProxyCopy;
    const gc = t.gatewayClass;
    const ancestor: AncestorRef | undefined = gc ? { group: GatewayGroup, kind: 'GatewayClass', name: gc.metadata.name } : undefined;
    const err = validateEnvoyProxy(classProxyCopy);
    const k = `${classProxy.metadata.namespace}/${classProxy.metadata.name}`;
    if (err) {
      invalid.set(k, err);
      if (gc) setGatewayClassAccepted(gc, false, Reason.InvalidParameters, `Invalid parametersRef: ${err}`);
      setEnvoyProxyAccepted(classProxyCopy, ancestor, 'InvalidParameters', err);
    } else {
      if (gc) setGatewayClassAccepted(gc, true, Reason.Accepted, 'The GatewayClass is valid');
      proxies.set(k, classProxyCopy);
      setEnvoyProxyAccepted(classProxyCopy, ancestor, 'Accepted', 'The EnvoyProxy is accepted');
    }
  }

  for (const input of resources.gateways) {
    if (input.spec?.gatewayClassName !== settings.gatewayClassName) continue;
    const gateway = withFreshStatus(input, { ...(input.status ?? {}) });
    const g = new GatewayContext(gateway);
    attachEnvoyProxy(t, g, proxies, classProxyCopy);

    if (t.mergeGateways && mergeBackendsEnabledFor(t, g)) {
      g.setCondition('Accepted', 'False', Reason.InvalidParameters, 'mergeGateways and mergeBackends are mutually exclusive');
      t.failed.push(g);
      continue;
    }

    const ep = g.envoyProxy;
    if (ep) {
      const k = `${ep.metadata?.namespace}/${ep.metadata?.name}`;
      const own = g.ownEnvoyProxy;
      const ancestor: AncestorRef | undefined = own ? { group: GatewayGroup, kind: 'Gateway', namespace: g.namespace, name: g.name } : undefined;
      const err = invalid.get(k);
      if (err) {
        g.setCondition('Accepted', 'False', Reason.InvalidParameters, `Invalid parametersRef: ${err}`);
        if (own) setEnvoyProxyAccepted(own, ancestor, 'InvalidParameters', err);
        addProxyOutput(proxiesOut, g);
        t.failed.push(g);
        continue;
      }
      if (own) setEnvoyProxyAccepted(own, ancestor, 'Accepted', 'The EnvoyProxy is accepted');
    }

    const unsupported = (gateway.spec?.addresses ?? []).find((a) => a?.type && a.type !== 'IPAddress' && a.type !== 'Hostname');
    if (unsupported) {
      g.setCondition('Accepted', 'False', Reason.UnsupportedAddress, `The address type ${unsupported.type} is not supported`);
      addProxyOutput(proxiesOut, g);
      t.failed.push(g);
      continue;
    }

    g.resetListeners();
    addProxyOutput(proxiesOut, g);
    t.accepted.push(g);
  }
  t.gatewayProxies = proxiesOut;
}

/** EnvoyProxies that configure a Gateway directly are reported once each. */
function addProxyOutput(out: WithStatus<EnvoyProxy>[], g: GatewayContext): void {
  if (g.ownEnvoyProxy && !out.includes(g.ownEnvoyProxy)) out.push(g.ownEnvoyProxy);
}

/**
 * The EnvoyProxy of a Gateway: its own (infrastructure.parametersRef) when it exists and
 * gateways are not merged, else the GatewayClass's, else the EnvoyGateway default spec.
 */
function attachEnvoyProxy(t: Translation, g: GatewayContext, proxies: Map<string, WithStatus<EnvoyProxy>>, classProxy?: WithStatus<EnvoyProxy>): void {
  const ref = g.gateway.spec?.infrastructure?.parametersRef;
  if (ref && !t.mergeGateways && ref.group === EnvoyGatewayGroup && ref.kind === 'EnvoyProxy') {
    const ep = proxies.get(`${g.namespace}/${ref.name}`);
    if (ep) {
      g.envoyProxy = ep;
      g.ownEnvoyProxy = ep;
      return;
    }
  }
  if (classProxy) {
    g.envoyProxy = classProxy;
    return;
  }
  if (t.resources.envoyProxyDefaultSpec) {
    g.envoyProxy = { metadata: { name: '' }, spec: t.resources.envoyProxyDefaultSpec };
  }
}

export function setGatewayClassAccepted(gc: GatewayClass, accepted: boolean, reason: string, message: string): void {
  gc.status ??= {};
  gc.status.conditions ??= [];
  setCondition(gc.status.conditions, 'Accepted', accepted ? 'True' : 'False', reason, message);
}

/** EnvoyProxy status: one ancestor entry per GatewayClass/Gateway that uses it. */
export function setEnvoyProxyAccepted(ep: WithStatus<EnvoyProxy>, ancestor: AncestorRef | undefined, reason: string, message: string): void {
  // Without a GatewayClass object to name, there is no ancestor to report to.
  if (!ancestor) return;
  const ancestors = (ep.status.ancestors ??= []);
  let entry = ancestors.find((a) => sameRef(a.ancestorRef, ancestor));
  if (!entry) {
    entry = { ancestorRef: ancestor, conditions: [] };
    ancestors.push(entry);
  }
  const conditions = (entry.conditions ??= []);
  setCondition(conditions, 'Accepted', reason === 'Accepted' ? 'True' : 'False', reason, message);
  const deprecated = envoyProxyDeprecations(ep);
  if (deprecated.length) setCondition(conditions, 'Warning', 'True', 'DeprecatedField', deprecated.join('; '));
}

function sameRef(a: AncestorRef, b: AncestorRef): boolean {
  return (a?.group ?? '') === (b?.group ?? '') && (a?.kind ?? '') === (b?.kind ?? '') && (a?.namespace ?? '') === (b?.namespace ?? '') && (a?.name ?? '') === (b?.name ?? '');
}

/** Creates the (empty) xDS and infra IR of every Gateway, accepted or failed. */
export function initIRs(t: Translation): void {
  for (const g of [...t.accepted, ...t.failed]) {
    const key = t.irKey(g);
    const labels: Record<string, string> = { ...(g.gateway.spec?.infrastructure?.labels ?? {}) };
    if (t.mergeGateways) labels[OwningGatewayClassLabel] = t.settings.gatewayClassName;
    else {
      labels[OwningGatewayNamespaceLabel] = g.namespace;
      labels[OwningGatewayNameLabel] = g.name;
    }
    const annotations = g.gateway.spec?.infrastructure?.annotations;
    const metadata: InfraMetadata = { labels };
    if (annotations && Object.keys(annotations).length) metadata.annotations = { ...annotations };
    const proxy: ProxyInfra = {
      metadata,
      name: key,
      namespace: t.settings.controllerNamespace,
      listeners: [],
    };
    metadata.ownerReference = { kind: 'GatewayClass', name: t.settings.gatewayClassName };
    if (t.settings.gatewayNamespaceMode) {
      proxy.name = g.name;
      proxy.namespace = g.namespace;
      metadata.ownerReference = { kind: 'Gateway', name: g.name };
    }
    // With merged gateways all share one IR: the first Gateway creates it.
    if (!t.xdsIR[key]) t.xdsIR[key] = {};
    if (!t.infraIR[key]) t.infraIR[key] = { proxy };
  }
}

/** The IP addresses a Gateway asks for, given to its proxy's infrastructure. */
export function processAddresses(t: Translation): void {
  for (const g of t.accepted) {
    const ips = new Set<string>();
    for (const a of g.gateway.spec?.addresses ?? []) {
      if ((a?.type ?? 'IPAddress') === 'IPAddress' && isIP(a.value)) ips.add(a.value);
    }
    const proxy = t.infraIR[t.irKey(g)]?.proxy;
    if (proxy && ips.size) proxy.addresses = [...ips].sort();
  }
}

function isIP(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s)) return s.split('.').every((p) => Number(p) <= 255 && String(Number(p)) === p);
  return s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s);
}
