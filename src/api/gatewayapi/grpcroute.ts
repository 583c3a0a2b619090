// GRPCRoute: routes gRPC requests by service, method and headers.
import { resource } from '../meta.js';
import { list, rule, str, unique, z } from '../schema.js';
import { filterTypeMatchesField, HTTPHeaderFilter, HTTPRequestMirrorFilter, repeatedFilters } from './httpfilters.js';
import { checkRouteRules } from './httproute.js';
import { backendRefShape, CommonRouteSpec, HeaderName, Hostname, LocalObjectReference, RouteStatus, SectionName, servicePortRequired, SessionPersistence } from './shared.js';

const grpcService = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const grpcMethod = /^[A-Za-z_][A-Za-z_0-9]*$/;

export const GRPCMethodMatch = z
  .strictObject({
    type: z.enum(['Exact', 'RegularExpression']).default('Exact'),
    service: str({ max: 1024 }).optional(),
    method: str({ max: 1024 }).optional(),
  })
  .superRefine(
    rule((m, fail) => {
      if (m.service === undefined && m.method === undefined) fail('service or method (or both) must be given');
      if ((m.type ?? 'Exact') !== 'Exact') return;
      if (m.service !== undefined && !grpcService.test(m.service)) fail('must be a gRPC service name such as pkg.Service', 'service');
      if (m.method !== undefined && !grpcMethod.test(m.method)) fail('must be a gRPC method name (letters, digits, underscores)', 'method');
    }),
  );
export type GRPCMethodMatch = z.input<typeof GRPCMethodMatch>;

export const GRPCHeaderMatch = z.strictObject({
  type: z.enum(['Exact', 'RegularExpression']).default('Exact'),
  name: HeaderName,
  value: str({ min: 1, max: 4096 }),
});
export type GRPCHeaderMatch = z.input<typeof GRPCHeaderMatch>;

export const GRPCRouteMatch = z
  .strictObject({ method: GRPCMethodMatch.optional(), headers: list(GRPCHeaderMatch, 16).optional() })
  .superRefine(
    rule((m, fail) => {
      unique(m.headers, (h) => h.name, (msg, ...p) => fail(msg, 'headers', ...p), (k) => `header "${k}" is matched more than once`, 'name');
    }),
  );
export type GRPCRouteMatch = z.input<typeof GRPCRouteMatch>;

const grpcFilterFields = {
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestHeaderModifier: 'requestHeaderModifier',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
} as const;

export const GRPCRouteFilter = z
  .strictObject({
    type: z.enum(['ResponseHeaderModifier', 'RequestHeaderModifier', 'RequestMirror', 'ExtensionRef']),
    requestHeaderModifier: HTTPHeaderFilter.optional(),
    responseHeaderModifier: HTTPHeaderFilter.optional(),
    requestMirror: HTTPRequestMirrorFilter.optional(),
    extensionRef: LocalObjectReference.optional(),
  })
  .superRefine(rule(filterTypeMatchesField(grpcFilterFields)));
export type GRPCRouteFilter = z.input<typeof GRPCRouteFilter>;

const GRPCRouteFilters = list(GRPCRouteFilter, 16).superRefine(
  rule((fs, fail) => repeatedFilters(fs, ['RequestHeaderModifier', 'ResponseHeaderModifier'], fail)),
);

export const GRPCBackendRef = z.strictObject({ ...backendRefShape, filters: GRPCRouteFilters.optional() }).superRefine(servicePortRequired);
export type GRPCBackendRef = z.input<typeof GRPCBackendRef>;

export const GRPCRouteRule = z.strictObject({
  name: SectionName.optional(),
  matches: list(GRPCRouteMatch, 64).optional(),
  filters: GRPCRouteFilters.optional(),
  backendRefs: list(GRPCBackendRef, 16).optional(),
  sessionPersistence: SessionPersistence.optional(),
});
export type GRPCRouteRule = z.input<typeof GRPCRouteRule>;

export const GRPCRouteSpec = z.strictObject({
  ...CommonRouteSpec,
  hostnames: list(Hostname, 16).optional(),
  rules: list(GRPCRouteRule, 16).superRefine(rule(checkRouteRules)).optional(),
});
export type GRPCRouteSpec = z.input<typeof GRPCRouteSpec>;

export const GRPCRoute = resource('GRPCRoute', { spec: GRPCRouteSpec, status: RouteStatus.optional() });
export type GRPCRoute = z.input<typeof GRPCRoute>;
