// HTTPRoute and GRPCRoute: rules to IR HTTP routes (one per match and hostname), their
// destinations, and the route's status per parentRef.
import type {
  GRPCRoute, GRPCRouteMatch, GRPCRouteRule, HTTPRoute, HTTPRouteMatch, HTTPRouteRule,
} from '../api/gatewayapi/index.js';
import type * as ir from '../ir/xds.js';
import type { ListenerContext, RouteContext, RouteParentContext } from './contexts.js';
import { processDestination, setServiceHostnames, type DestinationSetting } from './destinations.js';
import { formatDuration, parseDuration } from './duration.js';
import { processFilters, validRegex, type FilterContext, type FilterMatch, type RouteFilter } from './filters.js';
import { attachRoute, computeHosts, newRouteContext } from './parentrefs.js';
import { resourceMetadata } from './destinations.js';
import { routeRetry } from './routeretry.js';
import { Cond, Reason, RouteError, RouteErrors, toAcceptedReason } from './status.js';
import type { Translation } from './translation.js';
import { cloneIR } from '../ir/clone.js';

/** A rule of an HTTPRoute or a GRPCRoute. */
type Rule = HTTPRouteRule | GRPCRouteRule;

export function processHTTPRoutes<R extends HTTPRoute | GRPCRoute>(t: Translation, kind: 'HTTPRoute' | 'GRPCRoute', routes: readonly R[]): RouteContext<R>[] {
  const out: RouteContext<R>[] = [];
  for (const input of routes) {
    const rc = newRouteContext(kind, input);
    if (!attachRoute(t, rc)) continue;
    out.push(rc);
    for (const pc of rc.parents) guarded(rc, pc, () => translateForParent(t, rc, pc));
  }
  return out;
}

/**
 * Runs the translation of one route for one parent; should the route hold data the translator
 * cannot read, that route alone is rejected and the others go on.
 */
export function guarded(rc: RouteContext, pc: RouteParentContext, f: () => void): void {
  try {
    f();
  } catch (e) {
    pc.setCondition(Cond.Accepted, 'False', Reason.UnsupportedValue, `The ${rc.kind} could not be translated: ${(e as Error).message}`);
  }
}

function translateForParent(t: Translation, rc: RouteContext, pc: RouteParentContext): void {
  const { routes, errors, unaccepted } = translateRules(t, rc, pc);
  const rules: readonly Rule[] = rc.spec.rules ?? [];
  for (const e of errors) {
    if (e.type === Cond.Accepted) {
      if (unaccepted.length === rules.length) {
        pc.setCondition(Cond.Accepted, 'False', e.reason, e.message);
      } else {
        pc.setCondition(Cond.PartiallyInvalid, 'True', e.reason, `Dropped rule(s) [${unaccepted.join(' ')}]: ${e.message}`);
        pc.setCondition(Cond.Accepted, 'True', Reason.Accepted, 'The route is accepted');
      }
    } else {
      pc.setCondition(e.type, 'False', e.reason, e.message);
    }
  }
  if (!pc.hasCondition(Cond.ResolvedRefs, 'False')) {
    pc.setCondition(Cond.ResolvedRefs, 'True', Reason.ResolvedRefs, 'All references of the route are resolved');
  }
  const attach = rc.kind === 'GRPCRoute' ? !pc.hasCondition(Cond.Accepted, 'False') : true;
  if (attach && !addToListeners(rc, pc, routes)) {
    pc.setCondition(Cond.Accepted, 'False', Reason.NoMatchingListenerHostname, `No hostname of the ${rc.kind} intersects the hostnames of this parent's listeners`);
  }
  if (pc.hasCondition(Cond.Accepted, 'False')) return;
  if (pc.status.conditions.length === 0) pc.setCondition(Cond.Accepted, 'True', Reason.Accepted, 'The route is accepted');
}

/** IR routes of every rule; errors grouped by condition type; indexes of rules not accepted. */
function translateRules(t: Translation, rc: RouteContext, pc: RouteParentContext): { routes: ir.HTTPRoute[]; errors: RouteError[]; unaccepted: number[] } {
  const errs = new RouteErrors();
  const unaccepted = new Set<number>();
  const routes: ir.HTTPRoute[] = [];
  const rules: readonly Rule[] = rc.spec.rules ?? [];
  const grpc = rc.kind === 'GRPCRoute';
  const statPattern = pc.gateway?.envoyProxy?.spec?.telemetry?.metrics?.clusterStatName;

  rules.forEach((rule, ruleIdx) => {
    const scope = { t, pc, rc, ruleIdx };
    const { ctx, errors } = processFilters(scope, rule.filters ?? [], grpc);
    let filterFailed = false;
    for (const e of errors) {
      errs.add(e);
      // A mirror without endpoints is reported, but the rule still routes.
      if (e.type !== Cond.BackendsAvailable) filterFailed = true;
      if (e.type === Cond.Accepted) unaccepted.add(ruleIdx);
    }
    const metadata = resourceMetadata(rc.route, rule.name, rc.kind);
    let ruleRoutes: ir.HTTPRoute[];
    try {
      ruleRoutes = grpc ? grpcRuleRoutes(rc, ruleIdx, rule as GRPCRouteRule, ctx, metadata) : httpRuleRoutes(rc, ruleIdx, rule as HTTPRouteRule, ctx, metadata);
    } catch (e) {
      if (!(e instanceof RouteError)) throw e;
      errs.add(new RouteError(`rule ${ruleIdx}: ${e.message}`, toAcceptedReason(e.reason), Cond.Accepted));
      unaccepted.add(ruleIdx);
      return;
    }

    const destName = `${rc.irPrefix}rule/${ruleIdx}`;
    const settings: DestinationSetting[] = [];
    let destError: RouteError | undefined;
    let noEndpoints = false;
    let dynamicResolver = false;
    const backendNames: string[] = [];
    (rule.backendRefs ?? []).forEach((br, i) => {
      const { ds, error } = processDestination(t, `${destName}/backend/${i}`, br, br.filters, pc, rc, (filters) => destinationFilters(scope, filters, grpc), rule.name);
      if (error) {
        if (error.reason === Reason.EndpointsNotFound) {
          errs.add(new RouteError(`no endpoints: ${error.message}`, error.reason, Cond.BackendsAvailable));
          noEndpoints = true;
        } else {
          errs.add(new RouteError(`rule ${ruleIdx} backendRef ${i}: ${error.message}`, error.reason));
          if (!grpc) ds.invalid = true;
          destError = error;
        }
      }
      backendNames[i] = `${br.namespace || rc.namespace}/${br.name}`;
      if (ds.weight === 0) return;
      settings.push(ds);
      if (ds.isDynamicResolver) dynamicResolver = true;
    });
    if (!grpc && ctx.urlRewrite?.host?.backend) for (const ds of settings) setServiceHostnames(t, ds);
    // The host taken from request path text must not steer a dynamic forward proxy.
    if (ctx.urlRewrite?.host?.pathRegex && dynamicResolver) {
      const e = new RouteError(`rule ${ruleIdx}: a host rewrite from the path (PathRegex) is not supported with a dynamic resolver backend`, Reason.UnsupportedValue);
      errs.add(e);
      destError = e;
      for (const ds of settings) ds.invalid = true;
    }

    const valid = validWeight(settings);
    const skip = (r: ir.HTTPRoute) => r.directResponse || r.redirect;
    if (filterFailed) {
      for (const r of ruleRoutes) if (grpc ? !skip(r) : true) r.directResponse = { statusCode: 500 };
    } else if (destError && valid === 0) {
      for (const r of ruleRoutes) if (!skip(r)) r.directResponse = { statusCode: 500 };
    } else if (noEndpoints && valid === 0) {
      for (const r of ruleRoutes) if (!skip(r)) r.directResponse = { statusCode: 503 };
    } else if (valid === 0) {
      for (const r of ruleRoutes) if (!skip(r)) r.directResponse = { statusCode: 500 };
    } else if (!grpc && dynamicResolver && (rule.backendRefs ?? []).length > 1) {
      for (const r of ruleRoutes) if (!skip(r)) r.directResponse = { statusCode: 500 };
      errs.add(new RouteError(`rule ${ruleIdx}: a dynamic resolver backend cannot be combined with other backends`, Reason.InvalidBackendRef));
    } else {
      for (const r of ruleRoutes) {
        if (skip(r)) continue;
        r.destination = { name: destName, settings, metadata };
      }
    }
    for (const r of ruleRoutes) {
      if (grpc) r.isHTTP2 = true;
      if (r.destination && statPattern) r.destination.statName = statName(statPattern, rc, rule.name, ruleIdx, backendNames);
    }
    routes.push(...ruleRoutes);
  });
  return { routes, errors: errs.merged(), unaccepted: [...unaccepted].sort((a, b) => a - b) };
}

/** Total weight of the destination settings that have endpoints (or resolve dynamically). */
function validWeight(settings: readonly DestinationSetting[]): number {
  let w = 0;
  for (const ds of settings) {
    if (ds.invalid) continue;
    if (ds.isDynamicResolver || (ds.endpoints && ds.endpoints.length > 0)) w += ds.weight ?? 1;
  }
  return w;
}

function statName(pattern: string, rc: RouteContext, ruleName: string | undefined, idx: number, refs: string[]): string {
  return pattern
    .replaceAll('%ROUTE_NAME%', rc.name)
    .replaceAll('%ROUTE_NAMESPACE%', rc.namespace)
    .replaceAll('%ROUTE_KIND%', rc.kind.toLowerCase())
    .replaceAll('%ROUTE_RULE_NAME%', ruleName ?? '-')
    .replaceAll('%ROUTE_RULE_NUMBER%', String(idx))
    .replaceAll('%BACKEND_REFS%', refs.filter((r) => r !== undefined).join('|'));
}

/** Filters of a backendRef: only the header, credential and host-rewrite parts apply. */
function destinationFilters(scope: { t: Translation; pc: RouteParentContext; rc: RouteContext; ruleIdx: number }, filters: readonly RouteFilter[], grpc: boolean): { destFilters?: ir.DestinationFilters; error?: RouteError } {
  const { ctx, errors } = processFilters({ ...scope, ruleIdx: 0 }, filters, grpc);
  if (errors.length) return { error: new RouteError(errors.map((e) => e.message).join('; '), errors[0]!.reason) };
  const f: ir.DestinationFilters = {};
  if (ctx.addRequestHeaders.length) f.addRequestHeaders = ctx.addRequestHeaders;
  if (ctx.removeRequestHeaders.length) f.removeRequestHeaders = ctx.removeRequestHeaders;
  if (ctx.addResponseHeaders.length) f.addResponseHeaders = ctx.addResponseHeaders;
  if (ctx.removeResponseHeaders.length) f.removeResponseHeaders = ctx.removeResponseHeaders;
  if (ctx.credentialInjection) f.credentialInjection = ctx.credentialInjection;
  if (ctx.urlRewrite) f.urlRewrite = ctx.urlRewrite;
  return { destFilters: f };
}

function applyFilterContext(ctx: FilterContext, r: ir.HTTPRoute): void {
  if (ctx.redirect) r.redirect = { ...ctx.redirect, ...(ctx.redirect.path ? { path: { ...ctx.redirect.path } } : {}) };
  if (ctx.directResponse) r.directResponse = ctx.directResponse;
  if (ctx.urlRewrite) r.urlRewrite = ctx.urlRewrite;
  if (ctx.credentialInjection) r.credentialInjection = ctx.credentialInjection;
  if (ctx.addRequestHeaders.length) r.addRequestHeaders = ctx.addRequestHeaders;
  if (ctx.removeRequestHeaders.length) r.removeRequestHeaders = ctx.removeRequestHeaders;
  if (ctx.addResponseHeaders.length) r.addResponseHeaders = ctx.addResponseHeaders;
  if (ctx.removeResponseHeaders.length) r.removeResponseHeaders = ctx.removeResponseHeaders;
  if (ctx.mirrors) r.mirrors = ctx.mirrors;
  if (ctx.cors) r.cors = ctx.cors;
}

// ---- HTTPRoute rules ---------------------------------------------------------------------------

function routeName(rc: RouteContext, ruleIdx: number, matchIdx: number): string {
  return `${rc.irPrefix}rule/${ruleIdx}/match/${matchIdx}`;
}

function checkRegex(v: string): void {
  if (!validRegex(v)) throw new RouteError(`"${v}" is not a valid regular expression`, Reason.UnsupportedValue);
}

function trafficFeatures(r: ir.HTTPRoute, rule: HTTPRouteRule): void {
  const to = rule.timeouts;
  if (to) {
    if (to.request != null) r.timeout = formatDuration(parseDuration(to.request) ?? 15000);
    // Without retries, the backend request timeout bounds the whole request; with them, each try.
    if (to.backendRequest != null && !rule.retry) r.timeout = formatDuration(parseDuration(to.backendRequest) ?? 15000);
  }
  const retry = routeRetry(rule);
  if (retry) r.retry = retry;
}

function sessionPersistence(rc: RouteContext, ruleIdx: number, rule: HTTPRouteRule): ir.SessionPersistence | undefined {
  const sp = rule.sessionPersistence;
  if (!sp) return undefined;
  if (sp.idleTimeout != null) throw new RouteError('session persistence idle timeout is not supported', Reason.UnsupportedValue);
  const name = sp.sessionName ?? `${rc.irPrefix}rule/${ruleIdx}`.replaceAll('/', '-');
  const type = sp.type ?? 'Cookie';
  if (type === 'Cookie') {
    const cookie: NonNullable<ir.SessionPersistence['cookie']> = { name };
    if (sp.absoluteTimeout != null && sp.cookieConfig?.lifetimeType === 'Permanent') {
      const ttl = parseDuration(sp.absoluteTimeout);
      if (ttl === undefined) throw new RouteError(`invalid absoluteTimeout ${sp.absoluteTimeout}`, Reason.UnsupportedValue);
      cookie.ttl = formatDuration(ttl);
    }
    return { cookie };
  }
  if (type === 'Header') return { header: { name } };
  throw new RouteError(`session persistence type ${type} is not supported`, Reason.UnsupportedValue);
}

type Cookies = FilterMatch['cookies'];

/** Matches of an HTTPRouteFilter are ANDed with the rule's: every combination is one route. */
function combineMatches<M extends object>(ruleMatches: readonly M[], filterMatches: readonly FilterMatch[]): { match: Partial<M>; cookies?: Cookies }[] {
  const out: { match: Partial<M>; cookies?: Cookies }[] = [];
  if (filterMatches.length === 0) for (const m of ruleMatches) out.push({ match: m });
  else for (const m of ruleMatches.length ? ruleMatches : [{}]) for (const fm of filterMatches) out.push({ match: m, cookies: fm.cookies });
  return out;
}

function addCookieMatches(r: ir.HTTPRoute, cookies: Cookies): void {
  for (const c of cookies ?? []) {
    const type = c.type ?? 'Exact';
    if (type === 'Exact') (r.cookieMatches ??= []).push({ name: c.name, exact: c.value });
    else if (type === 'RegularExpression') {
      checkRegex(c.value);
      (r.cookieMatches ??= []).push({ name: c.name, safeRegex: c.value });
    } else throw new RouteError(`cookie match type ${type} is not supported`, Reason.UnsupportedValue);
  }
}

function httpRuleRoutes(rc: RouteContext, ruleIdx: number, rule: HTTPRouteRule, ctx: FilterContext, metadata: ir.ResourceMetadata): ir.HTTPRoute[] {
  const persistence = sessionPersistence(rc, ruleIdx, rule);
  const matches = combineMatches<HTTPRouteMatch>(rule.matches ?? [], ctx.matches ?? []);

  const out: ir.HTTPRoute[] = [];
  if (matches.length === 0) {
    const r: ir.HTTPRoute = { name: routeName(rc, ruleIdx, -1), hostname: '', metadata };
    trafficFeatures(r, rule);
    applyFilterContext(ctx, r);
    out.push(r);
  }
  matches.forEach(({ match, cookies }, matchIdx) => {
    const r: ir.HTTPRoute = { name: routeName(rc, ruleIdx, matchIdx), hostname: '', metadata };
    if (persistence) r.sessionPersistence = persistence;
    trafficFeatures(r, rule);
    if (match.path) {
      const v = match.path.value;
      switch (match.path.type ?? 'PathPrefix') {
        case 'PathPrefix':
          r.pathMatch = { prefix: v };
          break;
        case 'Exact':
          r.pathMatch = { exact: v };
          break;
        case 'RegularExpression':
          checkRegex(v ?? '');
          r.pathMatch = { safeRegex: v };
          break;
      }
    }
    for (const h of match.headers ?? []) {
      if ((h.type ?? 'Exact') === 'RegularExpression') {
        checkRegex(h.value);
        (r.headerMatches ??= []).push({ name: h.name, safeRegex: h.value });
      } else (r.headerMatches ??= []).push({ name: h.name, exact: h.value });
    }
    for (const q of match.queryParams ?? []) {
      if ((q.type ?? 'Exact') === 'RegularExpression') {
        checkRegex(q.value);
        (r.queryParamMatches ??= []).push({ name: q.name, safeRegex: q.value });
      } else (r.queryParamMatches ??= []).push({ name: q.name, exact: q.value });
    }
    if (match.method) (r.headerMatches ??= []).push({ name: ':method', exact: match.method });
    addCookieMatches(r, cookies);
    applyFilterContext(ctx, r);
    out.push(r);

    // A CORS preflight (OPTIONS) would not match a rule that matches another method: it gets a
    // route of its own. Browsers send no cookies with preflights, so cookie matches need none.
    if (ctx.cors && match.method && match.method !== 'OPTIONS' && !r.cookieMatches?.length) {
      const pre: ir.HTTPRoute = { name: `${routeName(rc, ruleIdx, matchIdx)}/cors-preflight`, hostname: '', metadata, cors: ctx.cors };
      if (r.pathMatch) pre.pathMatch = r.pathMatch;
      if (r.queryParamMatches) pre.queryParamMatches = r.queryParamMatches;
      pre.headerMatches = [
        ...(r.headerMatches ?? []).filter((h) => h.name !== ':method'),
        { name: ':method', exact: 'OPTIONS' },
        { name: 'origin', safeRegex: '.*' },
        { name: 'access-control-request-method', safeRegex: '.*' },
      ];
      out.push(pre);
    }
  });
  return out;
}

// ---- GRPCRoute rules ---------------------------------------------------------------------------

const grpcServiceName = '(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*';
const grpcMethodName = '[A-Za-z_][A-Za-z_0-9]*';

function grpcRuleRoutes(rc: RouteContext, ruleIdx: number, rule: GRPCRouteRule, ctx: FilterContext, metadata: ir.ResourceMetadata): ir.HTTPRoute[] {
  const combos = combineMatches<GRPCRouteMatch>(rule.matches ?? [], ctx.matches ?? []);
  const out: ir.HTTPRoute[] = [];
  if (combos.length === 0) {
    const r: ir.HTTPRoute = { name: routeName(rc, ruleIdx, -1), hostname: '', metadata };
    applyFilterContext(ctx, r);
    out.push(r);
  }
  combos.forEach(({ match, cookies }, matchIdx) => {
    const r: ir.HTTPRoute = { name: routeName(rc, ruleIdx, matchIdx), hostname: '', metadata };
    for (const h of match.headers ?? []) {
      if ((h.type ?? 'Exact') === 'RegularExpression') {
        checkRegex(h.value);
        (r.headerMatches ??= []).push({ name: h.name, safeRegex: h.value });
      } else (r.headerMatches ??= []).push({ name: h.name, exact: h.value });
    }
    const m = match.method;
    if (m) {
      const svc: string | undefined = m.service;
      const meth: string | undefined = m.method;
      if ((m.type ?? 'Exact') === 'Exact') {
        if (svc && meth) r.pathMatch = { exact: `/${svc}/${meth}` };
        else if (meth) (r.headerMatches ??= []).push({ name: ':path', suffix: `/${meth}` });
        else if (svc) r.pathMatch = { prefix: `/${svc}` };
      } else {
        if (svc) checkRegex(svc);
        if (meth) checkRegex(meth);
        if (svc && meth) r.pathMatch = { safeRegex: `/${svc}/${meth}` };
        else if (meth) r.pathMatch = { safeRegex: `/${grpcServiceName}/${meth}` };
        else if (svc) r.pathMatch = { safeRegex: `/${svc}/${grpcMethodName}` };
      }
    }
    addCookieMatches(r, cookies);
    out.push(r);
    applyFilterContext(ctx, r);
  });
  return out;
}

// ---- attaching to listeners --------------------------------------------------------------------

/**
 * Adds the route's IR routes to each listener it attaches to, once per hostname they share.
 * Returns whether any listener shares a hostname with the route.
 */
function addToListeners(rc: RouteContext, pc: RouteParentContext, routes: ir.HTTPRoute[]): boolean {
  let intersects = pc.listeners.length === 0;
  for (const l of pc.listeners) {
    const hosts = computeHosts(rc.hostnames, l);
    if (hosts.length === 0) continue;
    intersects = true;
    l.status.attachedRoutes++;
    if (!l.ready) continue;
    const perHost: ir.HTTPRoute[] = [];
    for (const host of hosts) {
      for (const r of routes) {
        if (r.redirect && r.redirect.port === undefined) r.redirect.port = redirectPort(r.redirect.scheme, l);
        const copy = cloneIR(r);
        copy.name = `${r.name}/${host.replaceAll('.', '_')}`;
        copy.hostname = host;
        perHost.push(copy);
      }
    }
    const ir = l.httpIR;
    if (!ir) continue;
    if (rc.kind === 'GRPCRoute') {
      ir.grpc ??= {};
      // A GRPCRoute on a listener turns on gRPC-Web and gRPC stats there.
      ir.grpc.enableGRPCWeb = true;
      ir.grpc.enableGRPCStats ??= true;
    }
    (ir.routes ??= []).push(...perHost);
  }
  return intersects;
}

function redirectPort(scheme: string | undefined, l: ListenerContext): number {
  switch (scheme?.toLowerCase()) {
    case 'http':
      return 80;
    case 'https':
      return 443;
    default:
      return l.port;
  }
}
