// Session persistence (HTTPRoute rule sessionPersistence): the stateful_session filter keeps a
// client on the endpoint named by a cookie or a header. Off by default; each route turns it on
// with its own session state (a cookie scoped to the route's path).
import type { HTTPRoute, SessionPersistence } from '../../../ir/xds.js';
import { protoDuration, typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.stateful_session';

/** The path a route's cookie is scoped to: the route's path, or the literal start of its regex. */
function cookiePath(r: HTTPRoute): string {
  const pm = r.pathMatch;
  if (pm?.exact !== undefined) return pm.exact;
  if (pm?.prefix !== undefined) return pm.prefix;
  if (pm?.safeRegex !== undefined) {
    const literal = /^[^.*+?()[\]{}|^$\\]*/.exec(pm.safeRegex)![0];
    const slash = literal.lastIndexOf('/');
    return slash > 0 ? literal.slice(0, slash) : '/';
  }
  return '/';
}

function sessionState(sp: SessionPersistence, r: HTTPRoute): Msg | undefined {
  if (sp.cookie) {
    const cookie: Msg = { name: sp.cookie.name, path: cookiePath(r) };
    if (sp.cookie.ttl) cookie.ttl = protoDuration(sp.cookie.ttl);
    return {
      name: 'envoy.http.stateful_session.cookie',
      typedConfig: typed('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', { cookie }),
    };
  }
  if (sp.header) {
    return {
      name: 'envoy.http.stateful_session.header',
      typedConfig: typed('envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState', { name: sp.header.name }),
    };
  }
  return undefined;
}

export const sessionPersistence: HTTPFeature = {
  filters(l) {
    // The listener-level state is a placeholder (the first route's): each route brings its own.
    for (const r of l.routes ?? []) {
      const s = r.sessionPersistence && sessionState(r.sessionPersistence, r);
      if (s) return [{ name: filterType, disabled: true, typedConfig: typed('envoy.extensions.filters.http.stateful_session.v3.StatefulSession', { sessionState: s }) }];
    }
    return [];
  },
  perRoute(r) {
    const s = r.sessionPersistence && sessionState(r.sessionPersistence, r);
    if (!s) return undefined;
    return { [filterType]: typed('envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute', { statefulSession: { sessionState: s } }) };
  },
};
