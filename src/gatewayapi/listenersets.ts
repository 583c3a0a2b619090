// ListenerSets: extra listeners attached to a Gateway that allows them. Their listeners are
// validated with the Gateway's own (which win conflicts); the set's status sums theirs up.
import type { Gateway, ListenerSet } from '../api/gatewayapi/index.js';
import { GatewayGroup, ListenerContext, withFreshStatus, type GatewayContext, type ListenerStatus, type WithStatus } from './contexts.js';
import { selectorMatches } from './lookups.js';
import { Reason, setCondition } from './status.js';
import type { Translation } from './translation.js';

export function processListenerSets(t: Translation): void {
  const byKey = new Map<string, GatewayContext>();
  for (const g of t.accepted) byKey.set(`${g.namespace}/${g.name}`, g);
  for (const g of t.failed) if (!byKey.has(`${g.namespace}/${g.name}`)) byKey.set(`${g.namespace}/${g.name}`, g);

  for (const input of t.resources.listenerSets) {
    const ls = withFreshStatus(input, {});
    t.listenerSets.push(ls);
    const parent: Partial<ListenerSet['spec']['parentRef']> = ls.spec?.parentRef ?? {};
    if ((parent.group ?? GatewayGroup) !== GatewayGroup || (parent.kind ?? 'Gateway') !== 'Gateway') continue;
    const ns = parent.namespace || ls.metadata.namespace;
    const g = byKey.get(`${ns}/${parent.name}`);
    // A ListenerSet of a Gateway that is not ours is someone else's to report on.
    if (!g) continue;
    if (g.notAccepted || !t.accepted.includes(g)) {
      setSetConditions(ls, false, 'ParentNotAccepted', `Parent Gateway ${ns}/${parent.name} is not accepted`, false, 'Programmed');
      continue;
    }
    if (!listenerSetAllowed(t, g.gateway, ls)) {
      const msg = `Gateway ${g.namespace}/${g.name} does not allow ListenerSets from namespace ${ls.metadata.namespace}`;
      setSetConditions(ls, false, 'NotAllowed', msg, false, 'NotAllowed');
      continue;
    }
    const statuses: ListenerStatus[] = [];
    for (const spec of ls.spec?.listeners ?? []) {
      const st: ListenerStatus = { name: spec.name, supportedKinds: [], attachedRoutes: 0, conditions: [] };
      statuses.push(st);
      g.listeners.push(new ListenerContext(spec, g, st, ls));
    }
    ls.status.listeners = statuses;
    t.listenerSetParents.set(ls, g);
  }
}

function setSetConditions(ls: WithStatus<ListenerSet>, accepted: boolean, acceptedReason: string, msg: string, programmed: boolean, programmedReason: string): void {
  ls.status.conditions ??= [];
  setCondition(ls.status.conditions, 'Accepted', accepted ? 'True' : 'False', acceptedReason, msg);
  setCondition(ls.status.conditions, 'Programmed', programmed ? 'True' : 'False', programmedReason, programmed ? 'The ListenerSet is programmed' : 'The ListenerSet is not programmed');
}

/** spec.allowedListeners of the Gateway: None by default, else Same, All or a namespace selector. */
function listenerSetAllowed(t: Translation, gateway: Gateway, ls: ListenerSet): boolean {
  const ns = gateway.spec?.allowedListeners?.namespaces;
  switch (ns?.from) {
    case 'All':
      return true;
    case 'Same':
      return gateway.metadata.namespace === ls.metadata.namespace;
    case 'Selector': {
      if (!ns.selector) return false;
      const n = t.lookups.namespace(ls.metadata.namespace ?? '');
      return !!n && selectorMatches(ns.selector, n.metadata?.labels);
    }
    default:
      return false;
  }
}

/** A ListenerSet is accepted (programmed) when any of its listeners is. */
export function processListenerSetStatus(t: Translation): void {
  for (const ls of t.listenerSets) {
    if (!ls.status.listeners) continue;
    if ((ls.status.conditions ?? []).some((c) => c.type === 'Accepted' && c.status === 'False')) continue;
    const listeners = ls.status.listeners as ListenerStatus[];
    const is = (st: ListenerStatus, type: string) => st.conditions.some((c) => c.type === type && c.status === 'True');
    const allAccepted = listeners.every((l) => is(l, 'Accepted'));
    const anyAccepted = listeners.some((l) => is(l, 'Accepted'));
    const allProgrammed = listeners.every((l) => is(l, 'Programmed'));
    const anyProgrammed = listeners.some((l) => is(l, 'Programmed'));
    ls.status.conditions ??= [];
    if (allAccepted) setCondition(ls.status.conditions, 'Accepted', 'True', Reason.Accepted, 'All listeners are accepted');
    else if (anyAccepted) setCondition(ls.status.conditions, 'Accepted', 'True', Reason.ListenersNotValid, 'Some listeners are not valid');
    else setCondition(ls.status.conditions, 'Accepted', 'False', Reason.ListenersNotValid, 'No listener is accepted');
    if (allProgrammed) setCondition(ls.status.conditions, 'Programmed', 'True', Reason.Programmed, 'All listeners are programmed');
    else if (anyProgrammed) setCondition(ls.status.conditions, 'Programmed', 'True', Reason.Programmed, 'Some listeners are not programmed');
    else setCondition(ls.status.conditions, 'Programmed', 'False', Reason.ListenersNotValid, 'No listener is programmed');
    // A Gateway counts the ListenerSets it accepted.
    const g = t.listenerSetParents.get(ls);
    if (g && anyAccepted) {
      g.attachedListenerSets++;
      g.gateway.status.attachedListenerSets = g.attachedListenerSets;
    }
  }
}
