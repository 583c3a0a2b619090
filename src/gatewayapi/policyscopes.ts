// Which policy scopes sit under which: a Gateway holds its listeners, ListenerSets and routes; a
// ListenerSet holds its listeners and routes. A policy for a wider scope is reported Overridden
// when a policy for a scope under it takes precedence there (or Merged, when merged into it).

/** A scope key: `Gateway/<ns>/<name>`, `Gateway/<ns>/<name>/<listener>`, `ListenerSet/...`, `Route/<kind>/<ns>/<name>`. */
export type ScopeKey = string;

export const gatewayScope = (ns: string, name: string): ScopeKey => `Gateway/${ns}/${name}`;
export const gatewayListenerScope = (ns: string, name: string, listener: string): ScopeKey => `Gateway/${ns}/${name}/${listener}`;
export const listenerSetScope = (ns: string, name: string): ScopeKey => `ListenerSet/${ns}/${name}`;
export const listenerSetListenerScope = (ns: string, name: string, listener: string): ScopeKey => `ListenerSet/${ns}/${name}/${listener}`;
export const routeScope = (kind: string, ns: string, name: string): ScopeKey => `Route/${kind}/${ns}/${name}`;

export class ScopeGraph {
  /** Children reported as overriding (or merging into) their parent. */
  private readonly children = new Map<ScopeKey, Set<ScopeKey>>();
  /** Containment only: traversed, never reported (a ListenerSet inside its Gateway). */
  private readonly contains = new Map<ScopeKey, Set<ScopeKey>>();

  add(parent: ScopeKey, child: ScopeKey): void {
    let s = this.children.get(parent);
    if (!s) this.children.set(parent, (s = new Set()));
    s.add(child);
  }

  /** Records that a ListenerSet's scopes sit inside its Gateway's. */
  registerListenerSet(lsNs: string, lsName: string, gwNs: string, gwName: string): void {
    const parent = gatewayScope(gwNs, gwName);
    let s = this.contains.get(parent);
    if (!s) this.contains.set(parent, (s = new Set()));
    s.add(listenerSetScope(lsNs, lsName));
  }

  directChildren(scope: ScopeKey): Set<ScopeKey> {
    return new Set(this.children.get(scope) ?? []);
  }

  /**
   * Every scope reported under this one, however deep. A listener also holds the routes that
   * attach to its whole Gateway or ListenerSet (they attach to every listener of it).
   */
  descendants(scope: ScopeKey): Set<ScopeKey> {
    const out = new Set<ScopeKey>();
    const parts = scope.split('/');
    if ((parts[0] === 'Gateway' || parts[0] === 'ListenerSet') && parts.length === 4) {
      for (const c of this.children.get(parts.slice(0, 3).join('/')) ?? []) if (c.startsWith('Route/')) out.add(c);
    }
    const seen = new Set<ScopeKey>([scope]);
    const stack: ScopeKey[] = [scope];
    while (stack.length) {
      const s = stack.pop()!;
      for (const c of this.children.get(s) ?? []) {
        out.add(c);
        if (!seen.has(c)) {
          seen.add(c);
          stack.push(c);
        }
      }
      for (const c of this.contains.get(s) ?? []) {
        if (!seen.has(c)) {
          seen.add(c);
          stack.push(c);
        }
      }
      // A scope's listeners sit under it too.
      for (const [k] of this.children) {
        if (k.startsWith(`${s}/`) && k.split('/').length === s.split('/').length + 1 && !seen.has(k)) {
          seen.add(k);
          stack.push(k);
        }
      }
    }
    return out;
  }
}
