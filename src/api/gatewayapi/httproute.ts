// HTTPRoute: hostnames, rules of matches, filters and weighted backends, with the CRD's rules.
import { resource } from '../meta.js';
import { type Fail, int32, list, rule, str, unique, z } from '../schema.js';
import { HTTPRouteFilters } from './httpfilters.js';
import {
  backendRefShape,
  CommonRouteSpec,
  Duration,
  durationMillis,
  HeaderName,
  Hostname,
  RouteStatus,
  SectionName,
  servicePortRequired,
  SessionPersistence,
} from './shared.js';

const exactOrPrefix = (t: string | undefined) => t === 'Exact' || t === 'PathPrefix';
const pathCharacters = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;

/** A path match. Exact and PathPrefix values are normalised absolute paths. */
export const HTTPPathMatch = z
  .strictObject({
    type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).default('PathPrefix'),
    value: str({ max: 1024 }).default('/'),
  })
  .superRefine(
    rule((p, fail) => {
      if (!exactOrPrefix(p.type)) return;
      const v = p.value ?? '/';
      const bad = (why: string) => fail(`${why} when type is ${p.type}`, 'value');
      if (!v.startsWith('/')) bad("must be an absolute path starting with '/'");
      for (const s of ['//', '/./', '/../', '%2f', '%2F', '#']) if (v.includes(s)) bad(`must not contain '${s}'`);
      if (v.endsWith('/..')) bad("must not end with '/..'");
      else if (v.endsWith('/.')) bad("must not end with '/.'");
      if (!pathCharacters.test(v)) bad('must contain only URL path characters (unreserved, sub-delims, ":", "@", "/" and %-escapes)');
    }),
  );
export type HTTPPathMatch = z.input<typeof HTTPPathMatch>;

export const HTTPHeaderMatch = z.strictObject({
  type: z.enum(['Exact', 'RegularExpression']).default('Exact'),
  name: HeaderName,
  value: str({ min: 1, max: 4096 }),
});
export type HTTPHeaderMatch = z.input<typeof HTTPHeaderMatch>;

export const HTTPQueryParamMatch = z.strictObject({
  type: z.enum(['Exact', 'RegularExpression']).default('Exact'),
  name: HeaderName,
  value: str({ min: 1, max: 1024 }),
});
export type HTTPQueryParamMatch = z.input<typeof HTTPQueryParamMatch>;

export const HTTPMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

export const HTTPRouteMatch = z
  .strictObject({
    path: HTTPPathMatch.prefault({ type: 'PathPrefix', value: '/' }),
    headers: list(HTTPHeaderMatch, 16).optional(),
    queryParams: list(HTTPQueryParamMatch, 16).optional(),
    method: HTTPMethod.optional(),
  })
  .superRefine(
    rule((m, fail) => {
      // headers is a list-map keyed by name; query parameter names are exact (case-sensitive).
      unique(m.headers, (h) => h.name, (msg, ...p) => fail(msg, 'headers', ...p), (k) => `header "${k}" is matched more than once`, 'name');
      unique(m.queryParams, (q) => q.name, (msg, ...p) => fail(msg, 'queryParams', ...p), (k) => `query parameter "${k}" is matched more than once`, 'name');
    }),
  );
export type HTTPRouteMatch = z.input<typeof HTTPRouteMatch>;

export const HTTPBackendRef = z
  .strictObject({ ...backendRefShape, filters: HTTPRouteFilters.optional() })
  .superRefine(servicePortRequired);
export type HTTPBackendRef = z.input<typeof HTTPBackendRef>;

/** backendRequest may not outlast the whole request (unless the request timeout is disabled, 0s). */
export const HTTPRouteTimeouts = z
  .strictObject({ request: Duration.optional(), backendRequest: Duration.optional() })
  .superRefine(
    rule((t, fail) => {
      if (!t.request || !t.backendRequest) return;
      const request = durationMillis(t.request);
      const backend = durationMillis(t.backendRequest);
      if (request && backend !== undefined && backend > request) fail('backendRequest timeout may not be longer than the request timeout', 'backendRequest');
    }),
  );
export type HTTPRouteTimeouts = z.input<typeof HTTPRouteTimeouts>;

export const HTTPRouteRetry = z.strictObject({
  codes: list(int32(400, 599)).optional(),
  attempts: int32().optional(),
  backoff: Duration.optional(),
});
export type HTTPRouteRetry = z.input<typeof HTTPRouteRetry>;

type PathRewriteHolder = { type: string; requestRedirect?: { path?: { type: string } }; urlRewrite?: { path?: { type: string } } };
const replacesPrefix = (f: PathRewriteHolder, kind: 'requestRedirect' | 'urlRewrite') => f[kind]?.path?.type === 'ReplacePrefixMatch';

export const HTTPRouteRule = z
  .strictObject({
    name: SectionName.optional(),
    matches: list(HTTPRouteMatch, 64).prefault([{ path: { type: 'PathPrefix', value: '/' } }]),
    filters: HTTPRouteFilters.optional(),
    backendRefs: list(HTTPBackendRef, 16).optional(),
    timeouts: HTTPRouteTimeouts.optional(),
    retry: HTTPRouteRetry.optional(),
    sessionPersistence: SessionPersistence.optional(),
  })
  .superRefine(
    rule((r, fail) => {
      const filters = r.filters ?? [];
      if (r.backendRefs?.length && filters.some((f) => f.requestRedirect !== undefined)) {
        fail('a RequestRedirect filter may not be used together with backendRefs', 'filters');
      }
      const onePrefixMatch = r.matches.length === 1 && (r.matches[0]!.path?.type ?? 'PathPrefix') === 'PathPrefix';
      for (const kind of ['requestRedirect', 'urlRewrite'] as const) {
        const name = kind === 'requestRedirect' ? 'RequestRedirect' : 'URLRewrite';
        if (!onePrefixMatch && filters.some((f) => replacesPrefix(f, kind))) {
          fail(`a ${name} filter with path.type ReplacePrefixMatch needs exactly one PathPrefix match`, 'matches');
        }
        if (!onePrefixMatch && r.backendRefs?.some((b) => b.filters?.some((f) => replacesPrefix(f, kind)))) {
          fail(`a ${name} filter in backendRefs with path.type ReplacePrefixMatch needs exactly one PathPrefix match`, 'matches');
        }
      }
    }),
  );
export type HTTPRouteRule = z.input<typeof HTTPRouteRule>;

/** Rule names are unique within a route; a route has at most 128 matches in all. */
export function checkRouteRules(rules: readonly { name?: string; matches?: readonly unknown[] }[], fail: Fail): void {
  unique(rules, (r) => r.name, fail, (k) => `rule name "${k}" is used more than once`, 'name');
  let matches = 0;
  for (const r of rules) matches += r.matches?.length ?? 0;
  if (matches > 128) fail(`the rules of a route may have at most 128 matches in all (found ${matches})`);
}

export const HTTPRouteSpec = z.strictObject({
  ...CommonRouteSpec,
  hostnames: list(Hostname, 16).optional(),
  rules: list(HTTPRouteRule, 16)
    .superRefine(rule(checkRouteRules))
    .prefault([{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }]),
});
export type HTTPRouteSpec = z.input<typeof HTTPRouteSpec>;

export const HTTPRoute = resource('HTTPRoute', {
  spec: HTTPRouteSpec,
  status: RouteStatus.optional(),
});
export type HTTPRoute = z.input<typeof HTTPRoute>;
