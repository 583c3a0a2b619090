// Authentication settings of a SecurityPolicy: JWT, OIDC, API keys, basic auth and
// external authorization, each reaching its own services through a BackendCluster.
import { int32, list, rule, str, z } from '../schema.js';
import { Group, Kind, ObjectName, SecretObjectReference } from '../gatewayapi/shared.js';
import { backendClusterShape, GoDuration } from './shared.js';

const ClaimToHeader = z.strictObject({ header: str({ min: 1 }), claim: str({ min: 1 }) });

export const JWTExtractor = z.strictObject({
  headers: list(z.strictObject({ name: str({ min: 1 }), valuePrefix: str().optional() })).optional(),
  cookies: list(str({ min: 1 })).optional(),
  params: list(str({ min: 1 })).optional(),
});

export const RemoteJWKS = z.strictObject({
  ...backendClusterShape,
  uri: str({ min: 1, max: 253 }),
  cacheDuration: GoDuration.optional(),
  failedRefetchDuration: GoDuration.optional(),
});

export const LocalJWKS = z
  .strictObject({
    type: z.enum(['Inline', 'ValueRef']).default('Inline'),
    inline: str().optional(),
    valueRef: z.strictObject({ group: Group, kind: Kind, name: ObjectName }).optional(),
  })
  .superRefine(
    rule((l, fail) => {
      if ((l.type ?? 'Inline') === 'Inline' && l.inline === undefined) fail('inline is required when type is Inline', 'inline');
      if (l.type === 'ValueRef' && !l.valueRef) fail('valueRef is required when type is ValueRef', 'valueRef');
    }),
  );

export const JWTProvider = z
  .strictObject({
    name: str({ min: 1, max: 253 }),
    issuer: str({ max: 253 }).optional(),
    audiences: list(str(), 8).optional(),
    remoteJWKS: RemoteJWKS.optional(),
    localJWKS: LocalJWKS.optional(),
    claimToHeaders: list(ClaimToHeader).optional(),
    recomputeRoute: z.boolean().optional(),
    extractFrom: JWTExtractor.optional(),
  })
  .superRefine(
    rule((p, fail) => {
      if (!p.remoteJWKS && !p.localJWKS) fail('remoteJWKS or localJWKS is required', 'remoteJWKS');
      if (p.remoteJWKS && p.localJWKS) fail('give remoteJWKS or localJWKS, not both', 'localJWKS');
    }),
  );
export type JWTProvider = z.input<typeof JWTProvider>;

export const JWT = z.strictObject({ optional: z.boolean().optional(), providers: list(JWTProvider, 4, 1) });

export const OIDCProvider = z.strictObject({
  ...backendClusterShape,
  issuer: str({ min: 1 }),
  authorizationEndpoint: str().optional(),
  tokenEndpoint: str().optional(),
  endSessionEndpoint: str().optional(),
});

export const OIDC = z
  .strictObject({
    provider: OIDCProvider,
    clientID: str({ min: 1 }).optional(),
    clientIDRef: SecretObjectReference.optional(),
    clientSecret: SecretObjectReference,
    cookieNames: z.strictObject({ accessToken: str().optional(), idToken: str().optional() }).optional(),
    cookieDomain: str().optional(),
    cookieConfig: z.strictObject({ sameSite: z.enum(['Lax', 'Strict', 'None']).optional() }).optional(),
    scopes: list(str()).optional(),
    resources: list(str()).optional(),
    redirectURL: str().optional(),
    denyRedirect: z
      .strictObject({
        headers: list(z.strictObject({ name: str({ min: 1 }), type: z.enum(['Exact', 'Prefix', 'Suffix', 'RegularExpression']).default('Exact'), value: str({ min: 1 }) }), 16, 1),
      })
      .optional(),
    logoutPath: str().optional(),
    forwardAccessToken: z.boolean().optional(),
    forwardIDToken: z.strictObject({ header: str({ min: 1 }).optional() }).optional(),
    defaultTokenTTL: GoDuration.optional(),
    refreshToken: z.boolean().optional(),
    defaultRefreshTokenTTL: GoDuration.optional(),
    passThroughAuthHeader: z.boolean().optional(),
    csrfTokenTTL: GoDuration.optional(),
    disableTokenEncryption: z.boolean().optional(),
  })
  .superRefine(
    rule((o, fail) => {
      if (o.clientID !== undefined && o.clientIDRef !== undefined) fail('give clientID or clientIDRef, not both', 'clientIDRef');
      if (o.clientID === undefined && o.clientIDRef === undefined) fail('clientID or clientIDRef is required', 'clientID');
    }),
  );
export type OIDC = z.input<typeof OIDC>;

export const APIKeyAuth = z.strictObject({
  credentialRefs: list(SecretObjectReference, undefined, 1),
  extractFrom: list(
    z.strictObject({ headers: list(str()).optional(), params: list(str()).optional(), cookies: list(str()).optional() }),
    undefined,
    1,
  ),
  forwardClientIDHeader: str().optional(),
  sanitize: z.boolean().optional(),
});

export const BasicAuth = z.strictObject({ users: SecretObjectReference, forwardUsernameHeader: str().optional() });

const ContextExtension = z
  .strictObject({
    name: str({ min: 1 }),
    type: z.enum(['Value', 'ValueRef']).default('Value'),
    value: str().optional(),
    valueRef: z.strictObject({ group: Group, kind: Kind, name: ObjectName, key: str({ min: 1 }) }).optional(),
  })
  .superRefine(
    rule((c, fail) => {
      if ((c.type ?? 'Value') === 'Value' && c.value === undefined) fail('value is required when type is Value', 'value');
      if (c.type === 'ValueRef' && !c.valueRef) fail('valueRef is required when type is ValueRef', 'valueRef');
    }),
  );

export const ExtAuth = z
  .strictObject({
    grpc: z.strictObject({ ...backendClusterShape }).optional(),
    http: z
      .strictObject({
        ...backendClusterShape,
        path: str().optional(),
        pathOverride: str().optional(),
        headersToBackend: list(str()).optional(),
      })
      .optional(),
    headersToExtAuth: list(str()).optional(),
    bodyToExtAuth: z.strictObject({ maxRequestBytes: int32(1) }).optional(),
    failOpen: z.boolean().default(false),
    recomputeRoute: z.boolean().optional(),
    includeRouteMetadata: z.boolean().optional(),
    contextExtensions: list(ContextExtension, 16).optional(),
    statusOnError: int32(100, 599).optional(),
    timeout: GoDuration.optional(),
  })
  .superRefine(
    rule((e, fail) => {
      if (!e.grpc && !e.http) fail('grpc or http is required', 'grpc');
      if (e.grpc && e.http) fail('give grpc or http, not both', 'http');
    }),
  );
export type ExtAuth = z.input<typeof ExtAuth>;
