// EnvoyProxy: the settings a GatewayClass or Gateway gives its proxies, as the translator reads
// them, and the checks that make an EnvoyProxy unusable (the Gateways using it are not accepted).
import type { IPFamily } from '../ir/xds.js';
import type { ProxyConfig } from './contexts.js';

export function envoyIPFamily(ep: ProxyConfig | undefined): IPFamily | undefined {
  return ep?.spec?.ipFamily ?? undefined;
}

export function preserveRouteOrder(ep: ProxyConfig | undefined): boolean {
  return !!ep?.spec?.preserveRouteOrder;
}

/** The request ID action of listeners: spec.telemetry.requestID.tracing. */
export function requestIDAction(ep: ProxyConfig | undefined): string | undefined {
  return ep?.spec?.telemetry?.requestID?.tracing ?? undefined;
}

/** Listener ports are used as container ports (no shift of privileged ports). */
export function usesListenerPortAsContainerPort(ep: ProxyConfig): boolean {
  return !!ep.spec?.provider?.kubernetes?.useListenerPortAsContainerPort;
}

/** Backends are reached through the Service's cluster IP rather than its endpoints. */
export function serviceRouting(ep: ProxyConfig | undefined, policyRoutingType?: string): boolean {
  if (policyRoutingType === 'Service') return true;
  if (policyRoutingType === 'Endpoint') return false;
  return ep?.spec?.routingType === 'Service';
}

/** Deprecated fields an EnvoyProxy uses, each with its replacement. */
export function envoyProxyDeprecations(ep: ProxyConfig): string[] {
  const out: string[] = [];
  if (ep.spec?.luaValidation !== undefined && ep.spec.luaValidation !== null) out.push('spec.luaValidation is deprecated, use spec.lua.validationType instead');
  return out;
}

/** Why an EnvoyProxy cannot be used, or undefined when it can. */
export function validateEnvoyProxy(ep: ProxyConfig): string | undefined {
  const spec = ep.spec ?? {};
  const errs: string[] = [];
  const provider = spec.provider;
  if (provider) {
    if (provider.type !== 'Kubernetes' && provider.type !== 'Host' && provider.type !== 'Custom') errs.push(`unsupported provider type ${provider.type}`);
    const svc = provider.kubernetes?.envoyService;
    if (svc) {
      const type = svc.type;
      if (type && type !== 'LoadBalancer' && type !== 'ClusterIP' && type !== 'NodePort') errs.push(`unsupported envoy service type ${type}`);
      if (type && svc.allocateLoadBalancerNodePorts != null && type !== 'LoadBalancer') errs.push('allocateLoadBalancerNodePorts can only be set for a LoadBalancer Service');
      if (type && svc.loadBalancerIP != null) {
        if (type !== 'LoadBalancer') errs.push('loadBalancerIP can only be set for a LoadBalancer Service');
        if (!isIPv4(svc.loadBalancerIP)) errs.push(`loadBalancerIP ${svc.loadBalancerIP} is not a valid IPv4 address`);
      }
    }
  }
  const accessLog = spec.telemetry?.accessLog;
  for (const s of accessLog?.disable ? [] : (accessLog?.settings ?? [])) {
    if (s.format?.type === 'Text' && !s.format?.text) errs.push('a Text access log format needs text');
    for (const sink of s.sinks ?? []) {
      if (sink.type === 'File' && !sink.file) errs.push('a File access log sink needs file');
      if (sink.type === 'OpenTelemetry' && !sink.openTelemetry) errs.push('an OpenTelemetry access log sink needs openTelemetry');
    }
  }
  return errs.length ? errs.join(', ') : undefined;
}

function isIPv4(s: unknown): boolean {
  return typeof s === 'string' && /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((p) => Number(p) <= 255);
}
