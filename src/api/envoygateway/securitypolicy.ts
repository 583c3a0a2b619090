// SecurityPolicy: authentication (JWT, OIDC, API keys, basic, external), authorization rules,
// CORS and CSRF protection for the routes and listeners it targets.
import { resource } from '../meta.js';
import { list, rule, str, z } from '../schema.js';
import { HTTPMethod } from '../gatewayapi/httproute.js';
import { PolicyStatus } from '../gatewayapi/shared.js';
import { APIKeyAuth, BasicAuth, ExtAuth, JWT, OIDC } from './auth.js';
import { CIDR } from './clienttrafficpolicy.js';
import { Fraction, GoDuration, MergeType, policyTargets, policyTargetShape } from './shared.js';

/** An origin for CORS and CSRF: scheme://host[:port], where host may start with `*`, or `*`. */
const Origin = str({
  min: 1,
  max: 253,
  pattern: /^(\*|https?:\/\/(\*\.)?[a-zA-Z0-9.*-]+(:[0-9]{1,5}|:\*)?)$/,
  what: 'an origin such as https://example.com, https://*.example.com:8443 or "*"',
});

export const CORS = z.strictObject({
  allowOrigins: list(Origin).optional(),
  allowMethods: list(str()).optional(),
  allowHeaders: list(str()).optional(),
  exposeHeaders: list(str()).optional(),
  maxAge: GoDuration.optional(),
  allowCredentials: z.boolean().optional(),
});

export const CSRF = z.strictObject({
  additionalOrigins: list(Origin).optional(),
  shadowFraction: Fraction.optional(),
});

const JWTClaim = z.strictObject({ name: str({ min: 1 }), valueType: z.enum(['String', 'StringArray']).default('String'), values: list(str(), 16, 1) });

export const Principal = z.strictObject({
  clientCIDRs: list(CIDR).optional(),
  jwt: z
    .strictObject({ provider: str({ min: 1 }), scopes: list(str(), 16).optional(), claims: list(JWTClaim, 16).optional() })
    .superRefine(rule((j, fail) => (!j.scopes?.length && !j.claims?.length ? fail('scopes or claims is required') : undefined)))
    .optional(),
  headers: list(z.strictObject({ name: str({ min: 1 }), values: list(str(), 256, 1) }), 256).optional(),
  sourceCIDRs: list(CIDR).optional(),
  clientIPGeoLocations: list(
    z.strictObject({
      country: str().optional(),
      region: str().optional(),
      city: str().optional(),
      anonymous: z
        .strictObject({
          isAnonymous: z.boolean().optional(),
          isVPN: z.boolean().optional(),
          isHosting: z.boolean().optional(),
          isTor: z.boolean().optional(),
          isProxy: z.boolean().optional(),
        })
        .optional(),
      asn: z.number().int().optional(),
      isp: str().optional(),
    }),
  ).optional(),
});

export const AuthorizationRule = z
  .strictObject({
    name: str({ max: 253 }).optional(),
    action: z.enum(['Allow', 'Deny']),
    operation: z
      .strictObject({
        methods: list(HTTPMethod).optional(),
        path: z
          .strictObject({ type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).default('PathPrefix'), value: str({ min: 1 }), invert: z.boolean().optional() })
          .optional(),
      })
      .optional(),
    principal: Principal,
    /** A CEL expression the request must also satisfy. */
    cel: str({ min: 1 }).optional(),
  })
  .superRefine(
    rule((r, fail) => {
      const p = r.principal;
      if (!p.clientCIDRs?.length && !p.jwt && !p.headers?.length && !p.sourceCIDRs?.length && !p.clientIPGeoLocations?.length) {
        fail('the principal needs at least one of clientCIDRs, jwt, headers, sourceCIDRs or clientIPGeoLocations', 'principal');
      }
    }),
  );

export const Authorization = z.strictObject({
  rules: list(AuthorizationRule).optional(),
  defaultAction: z.enum(['Allow', 'Deny']).optional(),
});

export const SecurityPolicySpec = z
  .strictObject({
    ...policyTargetShape,
    mergeType: MergeType.optional(),
    apiKeyAuth: APIKeyAuth.optional(),
    cors: CORS.optional(),
    csrf: CSRF.optional(),
    basicAuth: BasicAuth.optional(),
    jwt: JWT.optional(),
    oidc: OIDC.optional(),
    extAuth: ExtAuth.optional(),
    authorization: Authorization.optional(),
  })
  .superRefine(policyTargets);
export type SecurityPolicySpec = z.input<typeof SecurityPolicySpec>;

export const SecurityPolicy = resource('SecurityPolicy', { spec: SecurityPolicySpec, status: PolicyStatus.optional() });
export type SecurityPolicy = z.input<typeof SecurityPolicy>;
