// HTTPRouteFilter: Envoy Gateway's own route filter, used through a rule's extensionRef:
// regex rewrites, host rewrites, direct responses, credential injection, cookie matches.
import { resource } from '../meta.js';
import { int32, list, rule, str, z } from '../schema.js';
import { SecretObjectReference } from '../gatewayapi/shared.js';
import { CustomResponseBody, HeaderModifier } from './shared.js';

const RegexSubstitution = z.strictObject({ pattern: str({ min: 1 }), substitution: str() });

export const HTTPHostnameModifier = z
  .strictObject({
    type: z.enum(['Header', 'Backend', 'PathRegex']),
    header: str({ min: 1 }).optional(),
    pathRegex: RegexSubstitution.optional(),
  })
  .superRefine(
    rule((h, fail) => {
      if (h.type === 'Header' && !h.header) fail('header is required when type is Header', 'header');
      if (h.header !== undefined && h.type !== 'Header') fail('header may only be set when type is Header', 'header');
      if (h.type === 'PathRegex' && !h.pathRegex) fail('pathRegex is required when type is PathRegex', 'pathRegex');
      if (h.pathRegex !== undefined && h.type !== 'PathRegex') fail('pathRegex may only be set when type is PathRegex', 'pathRegex');
    }),
  );

export const HTTPPathModifier = z
  .strictObject({ type: z.enum(['ReplaceRegexMatch']), replaceRegexMatch: RegexSubstitution.optional() })
  .superRefine(
    rule((p, fail) => {
      if (p.type === 'ReplaceRegexMatch' && !p.replaceRegexMatch) fail('replaceRegexMatch is required when type is ReplaceRegexMatch', 'replaceRegexMatch');
    }),
  );

export const HTTPURLRewriteFilter = z.strictObject({
  hostname: HTTPHostnameModifier.optional(),
  path: HTTPPathModifier.optional(),
  appendXForwardedHost: z.boolean().optional(),
});

export const HTTPDirectResponseFilter = z.strictObject({
  contentType: str().optional(),
  body: CustomResponseBody.optional(),
  statusCode: int32(100, 599).optional(),
  header: HeaderModifier.optional(),
});

export const HTTPCredentialInjectionFilter = z.strictObject({
  header: str({ min: 1 }).optional(),
  overwrite: z.boolean().optional(),
  credential: z.strictObject({ valueRef: SecretObjectReference }),
});

export const HTTPRouteMatchFilter = z.strictObject({
  cookies: list(
    z.strictObject({ type: z.enum(['Exact', 'RegularExpression']).default('Exact'), name: str({ min: 1 }), value: str({ min: 1 }) }),
    16,
  ).optional(),
});

export const HTTPRouteFilterSpec = z.strictObject({
  urlRewrite: HTTPURLRewriteFilter.optional(),
  directResponse: HTTPDirectResponseFilter.optional(),
  credentialInjection: HTTPCredentialInjectionFilter.optional(),
  matches: list(HTTPRouteMatchFilter).optional(),
});
export type HTTPRouteFilterSpec = z.input<typeof HTTPRouteFilterSpec>;

export const HTTPRouteFilter = resource('HTTPRouteFilter', { spec: HTTPRouteFilterSpec });
export type HTTPRouteFilter = z.input<typeof HTTPRouteFilter>;
