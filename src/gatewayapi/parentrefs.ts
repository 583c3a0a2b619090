// How a route attaches: which of its parentRefs name our Gateways (or their ListenerSets), which
// listeners each selects and allows, and the hostnames a route and a listener have in common.
import type { Namespace } from '../api/core/index.js';
import type { ParentReference } from '../api/gatewayapi/index.js';
import {
  GatewayGroup, RouteContext, RouteParentContext, type GatewayContext, type ListenerContext, type ParentStatus, type Route, type RouteKind,
  type TranslatedRoute,
} from './contexts.js';
import { selectorMatches } from './lookups.js';
import { Cond, Reason } from './status.js';
import type { Translation } from './translation.js';

function isListenerSetRef(ref: ParentReference): boolean {
  return ref.kind === 'ListenerSet' && ref.group === GatewayGroup;
}

function isGatewayRef(routeNamespace: string, ref: ParentReference, g: GatewayContext): boolean {
  if (ref.group !== undefined && ref.group !== null && ref.group !== GatewayGroup) return false;
  if (ref.kind !== undefined && ref.kind !== null && ref.kind !== 'Gateway') return false;
  return (ref.namespace ?? routeNamespace) === g.namespace && ref.name === g.name;
}

function refSelects(ref: ParentReference, l: ListenerContext): boolean {
  return (ref.sectionName == null || ref.sectionName === l.name) && (ref.port == null || ref.port === l.port);
}

/**
 * Whether a parentRef names one of our Gateways (or one of their ListenerSets), and the listeners
 * it selects there (all of them, or the one its sectionName/port picks).
 */
export function referencedListeners(routeNamespace: string, ref: ParentReference, gateways: readonly GatewayContext[]): { ours: boolean; listeners: ListenerContext[] } {
  const listeners: ListenerContext[] = [];
  if (isListenerSetRef(ref)) {
    const ns = ref.namespace ?? routeNamespace;
    let ours = false;
    for (const g of gateways) {
      for (const l of g.listeners) {
        const ls = l.listenerSet?.metadata;
        if (!ls || ls.namespace !== ns || ls.name !== ref.name) continue;
        ours = true;
        if (refSelects(ref, l)) listeners.push(l);
      }
    }
    return { ours, listeners };
  }
  for (const g of gateways) {
    if (!isGatewayRef(routeNamespace, ref, g)) continue;
    for (const l of g.listeners) if (!l.listenerSet && refSelects(ref, l)) listeners.push(l);
    return { ours: true, listeners };
  }
  return { ours: false, listeners };
}

/** Parent references are equal with defaults applied (group, kind, namespace). */
export function sameParentRef(a: ParentReference, b: ParentReference, routeNamespace: string): boolean {
  return (
    (a.group ?? GatewayGroup) === (b.group ?? GatewayGroup) &&
    (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') &&
    a.name === b.name &&
    (a.namespace ?? routeNamespace) === (b.namespace ?? routeNamespace) &&
    (a.sectionName ?? undefined) === (b.sectionName ?? undefined) &&
    (a.port ?? undefined) === (b.port ?? undefined)
  );
}

/** Wraps a route, giving it a fresh status that keeps the parents of other controllers. */
export function newRouteContext<R extends Route>(kind: RouteKind, input: R): RouteContext<R> {
  const parents: ParentStatus[] = (input.status?.parents ?? []).map((p) => ({ ...p, conditions: [...(p.conditions ?? [])] }));
  const route: TranslatedRoute<R> = { ...input, status: { ...(input.status ?? {}), parents } };
  return new RouteContext(kind, route);
}

/** The status entry of one parentRef: reused from the input when present, else appended. */
function parentContext(t: Translation, rc: RouteContext, ref: ParentReference): RouteParentContext {
  const existing = rc.parents.find((p) => sameParentRef(p.ref, ref, rc.namespace));
  if (existing) return existing;
  const parents = rc.route.status.parents;
  let status = parents.find((p) => sameParentRef(p.parentRef ?? {}, ref, rc.namespace));
  if (!status) {
    status = { parentRef: ref, controllerName: t.settings.gatewayControllerName, conditions: [] };
    parents.push(status);
  }
  const pc = new RouteParentContext(rc, ref, status);
  rc.parents.push(pc);
  return pc;
}

/**
 * Resolves the parentRefs of a route against our Gateways, setting Accepted where attachment is
 * refused. Returns false when no parentRef concerns us (the route is then left out entirely).
 */
export function attachRoute(t: Translation, rc: RouteContext): boolean {
  let relevant = false;
  for (const ref of rc.parentRefs) {
    const { ours, listeners } = referencedListeners(rc.namespace, ref, t.accepted);
    if (!ours) continue;
    relevant = true;
    const pc = parentContext(t, rc, ref);
    pc.status.conditions = [];
    if (listeners.length === 0) {
      pc.setCondition(Cond.Accepted, 'False', Reason.NoMatchingParent, 'No listener matches this parent reference');
      continue;
    }
    const ns = t.lookups.namespace(rc.namespace);
    const allowed = listeners.filter((l) => l.allowsKind(rc.kind) && allowsNamespace(l, ns));
    if (allowed.length === 0) {
      pc.setCondition(Cond.Accepted, 'False', Reason.NotAllowedByListeners, 'No listener of this parent reference allows this route');
      continue;
    }
    pc.listeners.push(...allowed);
    pc.gateway = allowed[0]!.gateway;
    pc.setCondition(Cond.Accepted, 'True', Reason.Accepted, 'The route is accepted');
  }
  return relevant;
}

function allowsNamespace(l: ListenerContext, ns: Namespace | undefined): boolean {
  if (!ns) return false;
  const own = l.listenerSet?.metadata.namespace ?? l.gateway.namespace;
  const from = l.allowedRoutes?.namespaces?.from;
  switch (from) {
    case 'All':
      return true;
    case 'Selector':
      return !!l.namespaceSelector && selectorMatches(l.namespaceSelector, ns.metadata?.labels);
    default:
      return own === ns.metadata.name;
  }
}

// ---- hostnames ---------------------------------------------------------------------------------

/** Whether a wildcard hostname (`*.example.com`) covers another hostname (or narrower wildcard). */
export function wildcardMatches(wildcard: string, hostname: string): boolean {
  const suffix = wildcard.slice(1);
  if (!hostname.startsWith('*')) {
    return hostname.endsWith(suffix) && hostname.length > suffix.length;
  }
  const hostSuffix = hostname.slice(1);
  if (!hostSuffix.endsWith(suffix)) return false;
  const rest = hostSuffix.slice(0, hostSuffix.length - suffix.length);
  return rest.length > 0 && rest.startsWith('.');
}

/**
 * The hostnames a route serves on a listener: the intersection of both, minus hostnames that
 * another listener on the same port claims for itself. Sorted.
 */
export function computeHosts(routeHostnames: readonly string[], l: ListenerContext): string[] {
  const lh = l.hostname ?? '';
  if (routeHostnames.length === 0) return [lh || '*'];
  const out = new Set<string>();
  for (const rh of routeHostnames) {
    if (!lh || lh === rh) out.add(rh);
    else if (lh.startsWith('*') && rh.startsWith('*')) {
      if (wildcardMatches(rh, lh)) out.add(lh);
      if (wildcardMatches(lh, rh)) out.add(rh);
    } else if (lh.startsWith('*')) {
      if (wildcardMatches(lh, rh)) out.add(rh);
    } else if (rh.startsWith('*')) {
      if (wildcardMatches(rh, lh)) out.add(lh);
    }
  }
  for (const other of l.gateway.listeners) {
    if (other === l || other.port !== l.port || !other.hostname) continue;
    out.delete(other.hostname);
  }
  return [...out].sort();
}
