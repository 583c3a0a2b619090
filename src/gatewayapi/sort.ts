// Route precedence within an HTTP listener, as the Gateway API orders matches: exact paths before
// regular expressions before prefixes, longer paths first, then more header matches, then more
// query parameter matches, then more cookie matches. Ties keep the order in which routes were added (route creation order).
import type { HTTPRoute, StringMatch, Xds } from '../ir/xds.js';

function pathRank(r: HTTPRoute): number {
  const p = r.pathMatch;
  if (p?.exact !== undefined) return 3;
  if (p?.safeRegex !== undefined) return 2;
  return 1;
}

function pathLength(r: HTTPRoute): number {
  const p = r.pathMatch;
  if (!p) return 1; // no path match matches everything, like the prefix "/"
  return (p.exact ?? p.safeRegex ?? p.prefix ?? '').length;
}

const exactCount = (ms: readonly StringMatch[] | undefined) => (ms ?? []).filter((m) => m?.exact !== undefined).length;

/** Negative when a must come before b. */
export function compareRoutes(a: HTTPRoute, b: HTTPRoute): number {
  return (
    pathRank(b) - pathRank(a) ||
    pathLength(b) - pathLength(a) ||
    (b.headerMatches?.length ?? 0) - (a.headerMatches?.length ?? 0) ||
    exactCount(b.headerMatches) - exactCount(a.headerMatches) ||
    (b.queryParamMatches?.length ?? 0) - (a.queryParamMatches?.length ?? 0) ||
    exactCount(b.queryParamMatches) - exactCount(a.queryParamMatches) ||
    (b.cookieMatches?.length ?? 0) - (a.cookieMatches?.length ?? 0) ||
    exactCount(b.cookieMatches) - exactCount(a.cookieMatches)
  );
}

/** Sorts the routes of every HTTP listener (Array.prototype.sort is stable). */
export function sortXdsIR(xdsIR: Record<string, Xds>): void {
  for (const x of Object.values(xdsIR)) {
    for (const l of x.http ?? []) {
      if (!l.preserveRouteOrder) l.routes?.sort(compareRoutes);
    }
  }
}
