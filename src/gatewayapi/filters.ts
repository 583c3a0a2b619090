// HTTPRoute and GRPCRoute filters: header modifiers, redirects, URL rewrites, mirrors, CORS and
// Envoy Gateway's HTTPRouteFilter (extensionRef), turned into the IR pieces of a route.
import type { HTTPRouteFilterSpec } from '../api/envoygateway/index.js';
import type {
  GRPCRouteFilter, HTTPCORSFilter, HTTPHeaderFilter, HTTPRequestMirrorFilter, HTTPRequestRedirectFilter, HTTPRouteFilter, HTTPURLRewriteFilter,
  LocalObjectReference,
} from '../api/gatewayapi/index.js';
import type {
  AddHeader, CORS, CredentialInjection, DirectResponse, HTTPPathModifier, HTTPRedirect, MirrorPolicy, URLRewrite,
} from '../ir/xds.js';
import { re2Error } from '../api/re2.js';
import type { RouteContext, RouteParentContext } from './contexts.js';
import { processDestination, validateBackendRef } from './destinations.js';
import { formatDuration } from './duration.js';
import { Cond, Reason, RouteError, RouteErrors } from './status.js';
import type { Translation } from './translation.js';

/** The matches of an HTTPRouteFilter (cookies), ANDed with a rule's. */
export type FilterMatch = NonNullable<HTTPRouteFilterSpec['matches']>[number];

/** What a rule's filters contribute to its IR routes. */
export interface FilterContext {
  directResponse?: DirectResponse;
  redirect?: HTTPRedirect;
  credentialInjection?: CredentialInjection;
  urlRewrite?: URLRewrite;
  addRequestHeaders: AddHeader[];
  removeRequestHeaders: string[];
  addResponseHeaders: AddHeader[];
  removeResponseHeaders: string[];
  mirrors?: MirrorPolicy[];
  cors?: CORS;
  /** Cookie matches of an HTTPRouteFilter, ANDed with the rule's matches. */
  matches?: FilterMatch[];
}

/** A filter of an HTTPRoute or GRPCRoute rule (or backendRef). */
export type RouteFilter = HTTPRouteFilter | GRPCRouteFilter;

function newContext(): FilterContext {
  return { addRequestHeaders: [], removeRequestHeaders: [], addResponseHeaders: [], removeResponseHeaders: [] };
}

const acceptedError = (message: string, reason: string = Reason.UnsupportedValue) => new RouteError(message, reason, Cond.Accepted);

const coreHTTPFilters = new Set(['RequestMirror', 'URLRewrite', 'RequestRedirect', 'RequestHeaderModifier', 'ResponseHeaderModifier', 'CORS']);
const coreGRPCFilters = new Set(['RequestMirror', 'RequestHeaderModifier', 'ResponseHeaderModifier']);

/** Why a filter is not valid at all (unknown type, unknown extension kind), or undefined. */
function filterError(f: RouteFilter, core: Set<string>): string | undefined {
  if (core.has(f.type)) return undefined;
  if (f.type === 'ExtensionRef') {
    if (!f.extensionRef) return 'extensionRef must be set for an ExtensionRef filter';
    if (f.extensionRef.group === 'gateway.envoyproxy.io' && f.extensionRef.kind === 'HTTPRouteFilter') return undefined;
    return `unknown kind ${f.extensionRef.group}/${f.extensionRef.kind}`;
  }
  return `unsupported filter type ${f.type}`;
}

export interface FilterScope {
  t: Translation;
  pc: RouteParentContext;
  rc: RouteContext;
  ruleIdx: number;
}

/** Translates the filters of one rule (or one backendRef) of an HTTPRoute or GRPCRoute. */
export function processFilters(scope: FilterScope, filters: readonly RouteFilter[], grpc: boolean): { ctx: FilterContext; errors: RouteError[] } {
  const ctx = newContext();
  const errs = new RouteErrors();
  const core = grpc ? coreGRPCFilters : coreHTTPFilters;
  for (let i = 0; i < filters.length; i++) {
    // Once a filter answers directly (or failed), the others have nothing left to do.
    if (ctx.directResponse) break;
    const f = filters[i]!;
    const invalid = filterError(f, core);
    if (invalid) {
      ctx.directResponse = { statusCode: 500 };
      errs.add(acceptedError(`invalid filter ${f.type}: ${invalid}`));
      continue;
    }
    switch (f.type) {
      case 'URLRewrite':
        errs.add(urlRewrite(f.urlRewrite, ctx));
        break;
      case 'RequestRedirect':
        errs.add(redirect(f.requestRedirect, ctx));
        break;
      case 'RequestHeaderModifier':
        errs.add(headerModifier(f.requestHeaderModifier, ctx.addRequestHeaders, ctx.removeRequestHeaders, 'RequestHeaderModifier'));
        break;
      case 'ResponseHeaderModifier':
        errs.add(headerModifier(f.responseHeaderModifier, ctx.addResponseHeaders, ctx.removeResponseHeaders, 'ResponseHeaderModifier'));
        break;
      case 'RequestMirror':
        errs.add(mirror(scope, i, f.requestMirror, ctx));
        break;
      case 'CORS':
        cors(f.cors, ctx);
        break;
      case 'ExtensionRef':
        errs.add(httpRouteFilter(scope, f.extensionRef, ctx));
        break;
    }
  }
  if (ctx.mirrors?.length && (ctx.directResponse || ctx.redirect)) {
    const what = ctx.directResponse ? 'a direct response' : 'a RequestRedirect filter';
    ctx.directResponse = undefined;
    ctx.redirect = undefined;
    ctx.mirrors = undefined;
    errs.add(acceptedError(`RequestMirror cannot be combined with ${what} in one rule`, Reason.IncompatibleFilters));
  }
  return { ctx, errors: errs.merged() };
}

// ---- URL rewrite and redirect ------------------------------------------------------------------

const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function hostnameError(h: string): string | undefined {
  if (h.length > 253 || !dns1123Subdomain.test(h)) return `hostname "${h}" is not a valid DNS subdomain`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return `hostname "${h}" cannot be an IP address`;
  for (const label of h.split('.')) if (label.length > 63) return `label "${label}" of hostname "${h}" is longer than 63 characters`;
  return undefined;
}

function hasCoreRewrite(u: URLRewrite): boolean {
  return !!(u.path?.fullReplace !== undefined || u.path?.prefixMatchReplace !== undefined || u.host?.name !== undefined);
}
function hasExtensionRewrite(u: URLRewrite): boolean {
  return !!(u.path?.regexMatchReplace || hasExtensionHostRewrite(u));
}

function hasExtensionHostRewrite(u: URLRewrite): boolean {
  return !!(u.host?.header !== undefined || u.host?.backend || u.host?.pathRegex);
}

function urlRewrite(rw: HTTPURLRewriteFilter | undefined, ctx: FilterContext): RouteError | undefined {
  if (!rw) return undefined;
  const cur = ctx.urlRewrite;
  if (cur) {
    const wantsCore = rw.hostname !== undefined || rw.path !== undefined;
    const conflictsExtension = (rw.hostname !== undefined && hasExtensionHostRewrite(cur)) || (rw.path !== undefined && cur.path?.regexMatchReplace);
    if ((hasCoreRewrite(cur) && wantsCore) || conflictsExtension) return acceptedError('a rule can have only one URLRewrite');
  }
  if (rw.hostname !== undefined) {
    const err = hostnameError(rw.hostname);
    if (err) return acceptedError(err);
    if (!ctx.urlRewrite) ctx.urlRewrite = { host: { name: rw.hostname } };
    else ctx.urlRewrite.host ??= { name: rw.hostname };
  }
  if (rw.path) {
    let path: HTTPPathModifier;
    switch (rw.path.type) {
      case 'ReplaceFullPath':
        if (rw.path.replacePrefixMatch != null) return acceptedError('replacePrefixMatch cannot be set when the path type is ReplaceFullPath');
        if (rw.path.replaceFullPath == null) return acceptedError('replaceFullPath is required when the path type is ReplaceFullPath');
        path = { fullReplace: rw.path.replaceFullPath };
        break;
      case 'ReplacePrefixMatch':
        if (rw.path.replaceFullPath != null) return acceptedError('replaceFullPath cannot be set when the path type is ReplacePrefixMatch');
        if (rw.path.replacePrefixMatch == null) return acceptedError('replacePrefixMatch is required when the path type is ReplacePrefixMatch');
        path = { prefixMatchReplace: rw.path.replacePrefixMatch };
        break;
      default:
        return acceptedError(`rewrite path type ${rw.path.type} is not supported; use ReplaceFullPath or ReplacePrefixMatch`);
    }
    if (!ctx.urlRewrite) ctx.urlRewrite = { path };
    else ctx.urlRewrite.path ??= path;
  }
  return undefined;
}

function redirect(rd: HTTPRequestRedirectFilter | undefined, ctx: FilterContext): RouteError | undefined {
  if (ctx.redirect) return acceptedError('a rule can have only one RequestRedirect');
  if (!rd) return undefined;
  const r: HTTPRedirect = {};
  if (rd.scheme != null) {
    if (rd.scheme !== 'http' && rd.scheme !== 'https') return acceptedError(`redirect scheme ${rd.scheme} is not supported; use http or https`);
    r.scheme = rd.scheme;
  }
  if (rd.hostname != null) {
    const err = hostnameError(rd.hostname);
    if (err) return acceptedError(err);
    r.hostname = rd.hostname;
  }
  if (rd.path) {
    switch (rd.path.type) {
      case 'ReplaceFullPath':
        if (rd.path.replaceFullPath != null) r.path = { fullReplace: rd.path.replaceFullPath };
        break;
      case 'ReplacePrefixMatch':
        if (rd.path.replacePrefixMatch != null) r.path = { prefixMatchReplace: rd.path.replacePrefixMatch };
        break;
      default:
        return acceptedError(`redirect path type ${rd.path.type} is not supported; use ReplaceFullPath or ReplacePrefixMatch`);
    }
  }
  if (rd.statusCode != null) {
    if (rd.statusCode !== 301 && rd.statusCode !== 302) return acceptedError(`redirect status code ${rd.statusCode} is not supported; use 301 or 302`);
    r.statusCode = rd.statusCode;
  }
  if (rd.port != null) r.port = rd.port;
  ctx.redirect = r;
  return undefined;
}

// ---- headers -----------------------------------------------------------------------------------

const headerValue = /^[!-~]+([\t ]?[!-~]+)*$/;

/** Pseudo headers, names with '/' or ':' and Host cannot be modified by these filters. */
function modifiable(name: string): boolean {
  return !name.includes('/') && !name.includes(':') && name.toLowerCase() !== 'host';
}

function headerModifier(hm: HTTPHeaderFilter | undefined, add: AddHeader[], remove: string[], what: string): RouteError | undefined {
  if (!hm) return undefined;
  let empty = true;
  const problems: string[] = [];
  const addOrSet = (list: readonly { name: string; value: string }[] | undefined, append: boolean) => {
    if (!list) return;
    if (list.length) empty = false;
    for (const h of list) {
      const name: string = h.name ?? '';
      if (!name) {
        problems.push(`${what} cannot ${append ? 'add' : 'set'} a header with an empty name`);
        continue;
      }
      if (!modifiable(name)) {
        problems.push(`${what} cannot ${append ? 'add' : 'set'} header "${name}"`);
        continue;
      }
      if (!headerValue.test(h.value ?? '')) {
        problems.push(`${what} cannot ${append ? 'add' : 'set'} header "${name}" to an invalid value`);
        continue;
      }
      if (add.some((a) => a.name.toLowerCase() === name.toLowerCase())) continue;
      add.push({ name, value: [h.value], append });
    }
  };
  addOrSet(hm.add, true);
  addOrSet(hm.set, false);
  if (hm.remove) {
    if (hm.remove.length) empty = false;
    for (const name of hm.remove) {
      if (!name) {
        problems.push(`${what} cannot remove a header with an empty name`);
        continue;
      }
      if (!modifiable(name)) {
        problems.push(`${what} cannot remove header "${name}"`);
        continue;
      }
      if (remove.some((r) => r.toLowerCase() === name.toLowerCase())) continue;
      remove.push(name);
    }
  }
  if (add.length === 0 && remove.length === 0 && !empty) return acceptedError(`${what} has nothing valid to add, set or remove`);
  if (problems.length) return acceptedError(problems.join('; '));
  return undefined;
}

// ---- mirrors and CORS --------------------------------------------------------------------------

function mirror(scope: FilterScope, filterIdx: number, m: HTTPRequestMirrorFilter | undefined, ctx: FilterContext): RouteError | undefined {
  if (!m) return undefined;
  const { t, pc, rc, ruleIdx } = scope;
  const ref = { ...m.backendRef, weight: 1 };
  const ns = ref.namespace || rc.namespace;
  const err = validateBackendRef(t, ref, undefined, rc, ns);
  if (err) return new RouteError(`the RequestMirror backend is not valid: ${err.message}`, err.reason, Cond.ResolvedRefs);
  const destName = `${rc.irPrefix}rule/${ruleIdx}-mirror-${filterIdx}`;
  const { ds, error } = processDestination(t, `${destName}/backend/-1`, ref, undefined, pc, rc, () => ({}));
  if (error) {
    if (error.reason === Reason.EndpointsNotFound) return new RouteError(`the RequestMirror backend has no endpoints: ${error.message}`, error.reason, Cond.BackendsAvailable);
    return error;
  }
  const policy: MirrorPolicy = { destination: { name: destName, settings: [ds] } };
  if (m.fraction) policy.percentage = (100 * m.fraction.numerator) / (m.fraction.denominator ?? 100);
  else if (m.percent != null) policy.percentage = m.percent;
  (ctx.mirrors ??= []).push(policy);
  return undefined;
}

/** `https://*.example.com` → `https://.*\.example\.com`. */
export function wildcardToRegex(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
}

function cors(c: HTTPCORSFilter | undefined, ctx: FilterContext): void {
  if (!c) return;
  const allowOrigins = (c.allowOrigins ?? []).map((o) => (o.includes('*') ? { safeRegex: wildcardToRegex(o) } : { exact: o }));
  const out: CORS = {
    allowOrigins,
    allowMethods: [...(c.allowMethods ?? [])],
    allowHeaders: [...(c.allowHeaders ?? [])],
    exposeHeaders: [...(c.exposeHeaders ?? [])],
    maxAge: formatDuration((c.maxAge ?? 0) * 1000),
  };
  if (c.allowCredentials) out.allowCredentials = true;
  ctx.cors = out;
}

// ---- HTTPRouteFilter ---------------------------------------------------------------------------

function unresolved(ctx: FilterContext, message: string): RouteError {
  ctx.directResponse = { statusCode: 500 };
  return new RouteError(message, Reason.UnsupportedValue, Cond.ResolvedRefs);
}

function invalid(ctx: FilterContext, message: string): RouteError {
  ctx.directResponse = { statusCode: 500 };
  return acceptedError(`invalid filter HTTPRouteFilter: ${message}`);
}

function httpRouteFilter(scope: FilterScope, ref: LocalObjectReference | undefined, ctx: FilterContext): RouteError | undefined {
  if (!ref) return undefined;
  const { t, rc } = scope;
  const ns = rc.namespace;
  const hrf = t.lookups.httpFilter(ns, ref.name);
  if (!hrf) return unresolved(ctx, `HTTPRouteFilter ${ns}/${ref.name} not found`);
  const spec: HTTPRouteFilterSpec = hrf.spec ?? {};
  if (spec.matches?.length) {
    if (ctx.matches?.length) return acceptedError('a rule can use only one HTTPRouteFilter with matches');
    ctx.matches = spec.matches;
  }
  if (spec.urlRewrite) {
    const rw = spec.urlRewrite;
    const cur = ctx.urlRewrite;
    if (cur) {
      const wants = rw.hostname !== undefined || rw.path !== undefined;
      const conflictsCore = (rw.hostname !== undefined && cur.host?.name !== undefined) || (rw.path !== undefined && (cur.path?.fullReplace !== undefined || cur.path?.prefixMatchReplace !== undefined));
      if ((hasExtensionRewrite(cur) && wants) || conflictsCore) return acceptedError('a rule can have only one URLRewrite');
    }
    if (rw.path?.type === 'ReplaceRegexMatch') {
      const rm = rw.path.replaceRegexMatch;
      if (!rm?.pattern) return acceptedError('replaceRegexMatch.pattern is required when the path type is ReplaceRegexMatch');
      if (!validRegex(rm.pattern)) return acceptedError('replaceRegexMatch.pattern must be a valid RE2 regular expression');
      const path = { regexMatchReplace: { pattern: rm.pattern, substitution: rm.substitution ?? '' } };
      if (!ctx.urlRewrite) ctx.urlRewrite = { path };
      else ctx.urlRewrite.path ??= path;
    }
    if (rw.hostname) {
      let host: URLRewrite['host'];
      if (rw.hostname.type === 'Header') {
        if (!rw.hostname.header) return acceptedError('header is required when the hostname rewrite type is Header');
        host = { header: rw.hostname.header };
      } else if (rw.hostname.type === 'Backend') {
        host = { backend: true };
      } else if (rw.hostname.type === 'PathRegex') {
        const pr = rw.hostname.pathRegex;
        if (!pr?.pattern || pr.substitution === undefined) return acceptedError('pathRegex.pattern and pathRegex.substitution are required when the hostname rewrite type is PathRegex');
        if (!validRegex(pr.pattern)) return acceptedError('pathRegex.pattern must be a valid RE2 regular expression');
        host = { pathRegex: { pattern: pr.pattern, substitution: pr.substitution } };
      }
      if (host) {
        if (!ctx.urlRewrite) ctx.urlRewrite = { host };
        else ctx.urlRewrite.host ??= host;
      }
    }
  }
  if (spec.urlRewrite?.appendXForwardedHost !== undefined) {
    (ctx.urlRewrite ??= {}).appendXForwardedHost = !!spec.urlRewrite.appendXForwardedHost;
  }
  if (spec.directResponse) {
    const d = spec.directResponse;
    const dr: DirectResponse = { statusCode: d.statusCode ?? 200 };
    if (d.body) {
      const body = customResponseBody(t, d.body, ns);
      if ('error' in body) return invalid(ctx, body.error);
      dr.body = body.body;
    }
    if (scope.rc.kind === 'GRPCRoute' && dr.statusCode >= 200 && dr.statusCode < 300) {
      return acceptedError('a GRPCRoute cannot answer with a 2xx direct response: it carries no gRPC message; use a non-2xx status to deny the request');
    }
    if (d.contentType) ctx.addResponseHeaders.push({ name: 'Content-Type', value: [d.contentType], append: false });
    ctx.directResponse = dr;
    const rhm = d.header;
    if (rhm) {
      for (const h of rhm.add ?? []) ctx.addResponseHeaders.push({ name: h.name, value: [h.value], append: true });
      for (const h of rhm.set ?? []) ctx.addResponseHeaders.push({ name: h.name, value: [h.value], append: false });
    }
  }
  if (spec.credentialInjection) {
    const ci = spec.credentialInjection;
    const vr: Partial<typeof ci.credential.valueRef> = ci.credential?.valueRef ?? {};
    if (vr.group || (vr.kind && vr.kind !== 'Secret')) return invalid(ctx, 'the credential must reference a Secret');
    if (vr.namespace && vr.namespace !== ns) return invalid(ctx, `the credential Secret must be in namespace ${ns}`);
    const secret = t.lookups.secret(ns, vr.name ?? '');
    if (!secret) return invalid(ctx, `Secret ${ns}/${vr.name} does not exist`);
    const cred = secret.data?.credential;
    if (!cred) return invalid(ctx, `Secret ${ns}/${vr.name} has no credential key`);
    const inj: CredentialInjection = { name: `httproutefilter/${ns}/${hrf.metadata.name}`, credential: cred };
    if (ci.header) inj.header = ci.header;
    if (ci.overwrite !== undefined) inj.overwrite = ci.overwrite;
    ctx.credentialInjection = inj;
  }
  return undefined;
}

/** The body of a direct response, base64 as the IR holds bytes: inline, or from a ConfigMap. */
type CustomResponseBody = NonNullable<NonNullable<HTTPRouteFilterSpec['directResponse']>['body']>;

function customResponseBody(t: Translation, body: CustomResponseBody, ns: string): { body: string } | { error: string } {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  if (body.type === 'ValueRef') {
    const name = body.valueRef?.name ?? '';
    const cm = t.lookups.configMap(ns, name);
    if (!cm) return { error: `ConfigMap ${ns}/${name} not found` };
    const data: Record<string, string> = cm.data ?? {};
    if (data['response.body'] !== undefined) return { body: b64(data['response.body']) };
    // Without a response.body key, the first value is the body (binary data as it is).
    const first = Object.values(data)[0];
    if (first !== undefined) return { body: b64(first) };
    const bin = Object.values(cm.binaryData ?? {})[0];
    if (bin !== undefined) return { body: bin };
    return { error: `ConfigMap ${ns}/${name} has no response.body key` };
  }
  if (body.inline !== undefined) return { body: b64(body.inline) };
  return { body: '' };
}

/** Whether Envoy's regex engine (RE2) accepts a pattern. */
export function validRegex(pattern: string): boolean {
  return re2Error(pattern) === undefined;
}
