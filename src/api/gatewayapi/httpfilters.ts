// HTTPRoute filters (also used, in part, by GRPCRoute): header modifiers, redirects, rewrites,
// mirrors, CORS and external authorization, each with the rules its CRD enforces.
import { type Fail, int32, list, rule, str, unique, z } from '../schema.js';
import { BackendObjectReference, Fraction, HeaderName, LocalObjectReference, PortNumber, PreciseHostname } from './shared.js';

export const HTTPHeader = z.strictObject({ name: HeaderName, value: str({ min: 1, max: 4096 }) });
export type HTTPHeader = z.input<typeof HTTPHeader>;

/** set and add are list-maps keyed by the header name as written (exact match, as the API server compares). */
const headerKey = (h: { name: string }) => h.name;

/** Set, add and remove headers; each list names a header at most once. */
export const HTTPHeaderFilter = z
  .strictObject({
    set: list(HTTPHeader, 16).optional(),
    add: list(HTTPHeader, 16).optional(),
    remove: list(str(), 16).optional(),
  })
  .superRefine(
    rule((f, fail) => {
      const dup = (k: string) => `header "${k}" appears more than once`;
      unique(f.set, headerKey, (m, ...p) => fail(m, 'set', ...p), dup, 'name');
      unique(f.add, headerKey, (m, ...p) => fail(m, 'add', ...p), dup, 'name');
      unique(f.remove, (r) => r, (m, ...p) => fail(m, 'remove', ...p), dup);
    }),
  );
export type HTTPHeaderFilter = z.input<typeof HTTPHeaderFilter>;

/** Replace the whole path, or the part a PathPrefix match matched. */
export const HTTPPathModifier = z
  .strictObject({
    type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']),
    replaceFullPath: str({ max: 1024 }).optional(),
    replacePrefixMatch: str({ max: 1024 }).optional(),
  })
  .superRefine(
    rule((p, fail) => {
      if (p.type === 'ReplaceFullPath' && p.replaceFullPath === undefined) fail('replaceFullPath is required when type is ReplaceFullPath', 'replaceFullPath');
      if (p.replaceFullPath !== undefined && p.type !== 'ReplaceFullPath') fail('replaceFullPath may only be set when type is ReplaceFullPath', 'type');
      if (p.type === 'ReplacePrefixMatch' && p.replacePrefixMatch === undefined) fail('replacePrefixMatch is required when type is ReplacePrefixMatch', 'replacePrefixMatch');
      if (p.replacePrefixMatch !== undefined && p.type !== 'ReplacePrefixMatch') fail('replacePrefixMatch may only be set when type is ReplacePrefixMatch', 'type');
    }),
  );
export type HTTPPathModifier = z.input<typeof HTTPPathModifier>;

export const HTTPRequestRedirectFilter = z.strictObject({
  scheme: z.enum(['http', 'https']).optional(),
  hostname: PreciseHostname.optional(),
  path: HTTPPathModifier.optional(),
  port: PortNumber.optional(),
  statusCode: z.literal([301, 302, 303, 307, 308]).default(302),
});
export type HTTPRequestRedirectFilter = z.input<typeof HTTPRequestRedirectFilter>;

export const HTTPURLRewriteFilter = z.strictObject({
  hostname: PreciseHostname.optional(),
  path: HTTPPathModifier.optional(),
});
export type HTTPURLRewriteFilter = z.input<typeof HTTPURLRewriteFilter>;

/** Mirror to a backend; the share mirrored is a percent or a fraction, not both. */
export const HTTPRequestMirrorFilter = z
  .strictObject({
    backendRef: BackendObjectReference,
    percent: int32(0, 100).optional(),
    fraction: Fraction.optional(),
  })
  .superRefine(
    rule((m, fail) => {
      if (m.percent !== undefined && m.fraction !== undefined) fail('give percent or fraction, not both', 'fraction');
    }),
  );
export type HTTPRequestMirrorFilter = z.input<typeof HTTPRequestMirrorFilter>;

const httpMethods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

/** An origin: `*`, or scheme://host[:port] where host may start with a `*` label. */
const CORSOrigin = str({
  min: 1,
  max: 253,
  pattern: /^(\*|[a-zA-Z][a-zA-Z0-9+\-.]+:\/\/(\*|(\*\.)?[^:/?#*]+)(:[0-9]{1,5})?)$/,
  what: '"*" or an origin scheme://host[:port]',
});

const noWildcardBesideOthers = (what: string) =>
  rule<string[]>((xs, fail) => {
    if (xs.length > 1 && xs.includes('*')) fail(`${what} may not list "*" beside other values`);
  });

export const HTTPCORSFilter = z.strictObject({
  allowOrigins: list(CORSOrigin, 64).superRefine(noWildcardBesideOthers('allowOrigins')).optional(),
  allowCredentials: z.boolean().optional(),
  allowMethods: list(z.enum([...httpMethods, '*']), 9).superRefine(noWildcardBesideOthers('allowMethods')).optional(),
  allowHeaders: list(HeaderName, 64).superRefine(noWildcardBesideOthers('allowHeaders')).optional(),
  exposeHeaders: list(HeaderName, 64).optional(),
  maxAge: int32(1).default(5),
});
export type HTTPCORSFilter = z.input<typeof HTTPCORSFilter>;

/** Ask an external service (HTTP or gRPC ext_authz) whether a request may proceed. */
export const HTTPExternalAuthFilter = z
  .strictObject({
    protocol: z.enum(['HTTP', 'GRPC']),
    backendRef: BackendObjectReference,
    grpc: z.strictObject({ allowedHeaders: list(str(), 64).optional() }).optional(),
    http: z
      .strictObject({
        path: str({ max: 1024, pattern: /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/, what: 'a URL path' }).optional(),
        allowedHeaders: list(str(), 64).optional(),
        allowedResponseHeaders: list(str(), 64).optional(),
      })
      .optional(),
    forwardBody: z.strictObject({ maxSize: int32(0).optional() }).optional(),
  })
  .superRefine(
    rule((f, fail) => {
      if (f.protocol === 'GRPC' && !f.grpc) fail('grpc is required when protocol is GRPC', 'grpc');
      if (f.grpc && f.protocol !== 'GRPC') fail('grpc may only be set when protocol is GRPC', 'protocol');
      if (f.protocol === 'HTTP' && !f.http) fail('http is required when protocol is HTTP', 'http');
      if (f.http && f.protocol !== 'HTTP') fail('http may only be set when protocol is HTTP', 'protocol');
    }),
  );
export type HTTPExternalAuthFilter = z.input<typeof HTTPExternalAuthFilter>;

/** filter type → the field that carries its configuration. */
export const httpFilterFields = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
} as const;

/** A filter's `type` names exactly one configuration field, which must be present; no other may be. */
export function filterTypeMatchesField(fields: Record<string, string>) {
  return (f: Record<string, unknown> & { type: string }, fail: Fail) => {
    for (const [type, field] of Object.entries(fields)) {
      const present = f[field] !== undefined;
      if (f.type === type && !present) fail(`${field} is required when type is ${type}`, field);
      if (present && f.type !== type) fail(`${field} may only be set when type is ${type}`, field);
    }
  };
}

export const HTTPRouteFilter = z
  .strictObject({
    type: z.enum(Object.keys(httpFilterFields) as [keyof typeof httpFilterFields, ...(keyof typeof httpFilterFields)[]]),
    requestHeaderModifier: HTTPHeaderFilter.optional(),
    responseHeaderModifier: HTTPHeaderFilter.optional(),
    requestMirror: HTTPRequestMirrorFilter.optional(),
    requestRedirect: HTTPRequestRedirectFilter.optional(),
    urlRewrite: HTTPURLRewriteFilter.optional(),
    cors: HTTPCORSFilter.optional(),
    externalAuth: HTTPExternalAuthFilter.optional(),
    extensionRef: LocalObjectReference.optional(),
  })
  .superRefine(rule(filterTypeMatchesField(httpFilterFields)));
export type HTTPRouteFilter = z.input<typeof HTTPRouteFilter>;

/** Filters that may appear at most once in a list (RequestMirror and ExtensionRef may repeat). */
const notRepeatable = ['CORS', 'RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite'];

/** The rules a list of HTTP filters obeys. */
export function checkHTTPFilters(filters: readonly { type: string }[], fail: Fail): void {
  if (filters.some((f) => f.type === 'RequestRedirect') && filters.some((f) => f.type === 'URLRewrite')) {
    fail('RequestRedirect and URLRewrite filters may not be used together');
  }
  repeatedFilters(filters, notRepeatable, fail);
}

export function repeatedFilters(filters: readonly { type: string }[], once: readonly string[], fail: Fail): void {
  for (const t of once) {
    let n = 0;
    filters.forEach((f, i) => {
      if (f.type === t && ++n === 2) fail(`the ${t} filter may not be repeated`, i, 'type');
    });
  }
}

export const HTTPRouteFilters = list(HTTPRouteFilter, 16).superRefine(rule(checkHTTPFilters));
