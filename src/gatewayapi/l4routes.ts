// TLSRoute, TCPRoute and UDPRoute: their backends become the destination of a TCP or UDP IR
// route; TLS routes add the SNI hostnames they share with the listener.
import type { StreamRouteRule, TCPRoute, TLSRoute, UDPRoute } from '../api/gatewayapi/index.js';
import type { TCPListener, TCPRoute as IRTCPRoute, TLS, UDPListener } from '../ir/xds.js';
import type { GatewayContext, RouteContext, RouteParentContext } from './contexts.js';
import { processDestination, resourceMetadata, type DestinationSetting } from './destinations.js';
import { guarded } from './httproute.js';
import { attachRoute, computeHosts, newRouteContext } from './parentrefs.js';
import { Cond, Reason, RouteError, combine } from './status.js';
import type { Translation } from './translation.js';
import { cloneIR } from '../ir/clone.js';

type L4Kind = 'TLSRoute' | 'TCPRoute' | 'UDPRoute';
type L4Route = TLSRoute | TCPRoute | UDPRoute;

export function processL4Routes<R extends L4Route>(t: Translation, kind: L4Kind, routes: readonly R[]): RouteContext<R>[] {
  const out: RouteContext<R>[] = [];
  for (const input of routes) {
    const rc = newRouteContext(kind, input);
    if (!attachRoute(t, rc)) continue;
    out.push(rc);
    for (const pc of rc.parents) {
      guarded(rc, pc, () => (kind === 'TLSRoute' ? tlsRoute(t, rc, pc) : singleRuleRoute(t, rc, pc, kind)));
    }
  }
  return out;
}

/** Destination settings of some rules' backendRefs; errors are collected, zero weights dropped. */
function destinations(t: Translation, rc: RouteContext, pc: RouteParentContext, rules: readonly StreamRouteRule[], destName: string): { settings: DestinationSetting[]; errors: RouteError[] } {
  const settings: DestinationSetting[] = [];
  const errors: RouteError[] = [];
  for (const rule of rules) {
    (rule.backendRefs ?? []).forEach((br, i) => {
      const { ds, error } = processDestination(t, `${destName}/backend/${i}`, br, undefined, pc, rc, () => ({}), rule.name);
      if (error) {
        errors.push(error);
        return;
      }
      if ((ds.weight ?? 1) > 0) settings.push(ds);
    });
  }
  return { settings, errors };
}

function setResolvedRefs(pc: RouteParentContext, errors: RouteError[]): void {
  if (errors.length) {
    const { reason, message } = combine(errors);
    pc.setCondition(Cond.ResolvedRefs, 'False', reason, message);
  } else {
    pc.setCondition(Cond.ResolvedRefs, 'True', Reason.ResolvedRefs, 'All references of the route are resolved');
  }
}

function tlsRoute(t: Translation, rc: RouteContext<L4Route>, pc: RouteParentContext): void {
  const destName = `${rc.irPrefix}rule/-1`;
  const rules: readonly StreamRouteRule[] = rc.spec.rules ?? [];
  let { settings, errors } = destinations(t, rc, pc, rules, destName);
  // A dynamic resolver forwards to the host the client names: alone, and on passthrough only.
  const dynamic = settings.some((s) => s.isDynamicResolver);
  const refCount = rules.reduce((n, r) => n + (r.backendRefs ?? []).length, 0);
  if (dynamic && refCount > 1) {
    errors.push(new RouteError('a dynamic resolver backend cannot be combined with other backendRefs', Reason.InvalidBackendRef));
    settings = [];
  }
  const terminating = (l: ListenerRef) => !!tcpListener(t, l)?.tls;
  const dynamicOnTerminate = dynamic && pc.listeners.some(terminating);
  if (dynamicOnTerminate) errors.push(new RouteError('a dynamic resolver backend is only supported on TLS passthrough listeners', Reason.UnsupportedValue));
  setResolvedRefs(pc, errors);

  let intersects = pc.listeners.length === 0;
  for (const l of pc.listeners) {
    const hosts = computeHosts(rc.hostnames, l);
    if (hosts.length === 0) continue;
    intersects = true;
    l.status.attachedRoutes++;
    if (!l.ready) continue;
    const ir = tcpListener(t, l);
    if (!ir || (dynamic && ir.tls)) continue;
    // A listener with certificates terminates TLS; one without passes it through.
    const tls: TLS = ir.tls ? { terminate: ir.tls, inspector: { snis: hosts } } : { inspector: { snis: hosts } };
    (ir.routes ??= []).push({
      name: `${rc.kind.toLowerCase()}/${rc.namespace}/${rc.name}`,
      tls,
      // Each listener's route has its own copy: later stages (mergeBackends) edit destinations.
      destination: { name: destName, settings: cloneIR(settings), metadata: resourceMetadata(rc.route, undefined, rc.kind) },
      metadata: resourceMetadata(rc.route, undefined, rc.kind),
    });
  }
  if (!intersects) {
    pc.setCondition(Cond.Accepted, 'False', Reason.NoMatchingListenerHostname, 'No hostname of the TLSRoute intersects the hostnames of this parent\'s listeners');
  }
  if (pc.hasCondition(Cond.Accepted, 'False')) return;
  if (pc.status.conditions.length === 0) pc.setCondition(Cond.Accepted, 'True', Reason.Accepted, 'The route is accepted');
}

/** A listener by its Gateway and IR name. */
interface ListenerRef {
  gateway: GatewayContext;
  irName: string;
}

function tcpListener(t: Translation, l: ListenerRef): TCPListener | undefined {
  const xds = t.xdsIR[t.irKey(l.gateway)];
  return xds?.tcp?.find((x) => x.name === l.irName);
}

function udpListener(t: Translation, l: ListenerRef): UDPListener | undefined {
  const xds = t.xdsIR[t.irKey(l.gateway)];
  return xds?.udp?.find((x) => x.name === l.irName);
}

/** TCPRoute and UDPRoute: exactly one rule, one route per listener. */
function singleRuleRoute(t: Translation, rc: RouteContext<L4Route>, pc: RouteParentContext, kind: 'TCPRoute' | 'UDPRoute'): void {
  const rules: readonly StreamRouteRule[] = rc.spec.rules ?? [];
  if (rules.length !== 1) {
    pc.setCondition(Cond.Accepted, 'False', Reason.InvalidRule, 'Only one rule is supported');
    return;
  }
  const destName = `${rc.irPrefix}rule/-1`;
  const { settings, errors } = destinations(t, rc, pc, rules, destName);
  setResolvedRefs(pc, errors);
  if (pc.hasCondition(Cond.Accepted, 'False')) return;

  const name = `${kind.toLowerCase()}/${rc.namespace}/${rc.name}`;
  // Each listener's route has its own copy: later stages (mergeBackends) edit destinations.
  const destination = () => ({ name: destName, settings: cloneIR(settings), metadata: resourceMetadata(rc.route, rules[0]!.name, kind) });
  let accepted = false;
  for (const l of pc.listeners) {
    if (kind === 'UDPRoute') {
      l.status.attachedRoutes++;
      accepted = true;
      if (!l.ready) continue;
      // A UDP listener forwards to one route: the first one attached.
      const ir = udpListener(t, l);
      if (ir && !ir.route) ir.route = { name, destination: destination() };
    } else {
      l.status.attachedRoutes++;
      accepted = true;
      if (!l.ready) continue;
      const ir = tcpListener(t, l);
      // A TCP listener forwards to one route: the first one attached.
      if (!ir || (ir.routes?.length ?? 0) > 0) continue;
      const route: IRTCPRoute = { name, destination: destination(), metadata: resourceMetadata(rc.route, undefined, kind) };
      if (ir.tls) {
        route.tls = { terminate: ir.tls };
        if (l.hostname) route.tls.inspector = { snis: [l.hostname] };
      }
      (ir.routes ??= []).push(route);
    }
  }
  if (!accepted) {
    pc.setCondition(Cond.Accepted, 'False', Reason.UnsupportedValue, `Only one route can attach to a ${kind === 'UDPRoute' ? 'UDP' : 'TCP'} listener`);
  }
}
