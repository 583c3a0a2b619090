// Security features of a route, from SecurityPolicies: CORS, JWT, OIDC, API key and basic auth,
// external authorization, authorization (RBAC) and CSRF.
import type { Bytes, CIDRMatch, Duration, FractionalPercent, PrivateBytes, StringMatch } from './common.js';
import type { RouteDestination } from './destination.js';
import type { TrafficFeatures } from './traffic.js';

export interface SecurityFeatures {
  cors?: CORS;
  jwt?: JWT;
  oidc?: OIDC;
  apiKeyAuth?: APIKeyAuth;
  basicAuth?: BasicAuth;
  extAuth?: ExtAuth;
  authorization?: Authorization;
  csrf?: CSRF;
}

export interface CORS {
  allowOrigins?: StringMatch[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: Duration;
  allowCredentials?: boolean;
}

export interface JWT {
  /** Requests without a token pass (with a token it must be valid). */
  allowMissing?: boolean;
  /** Requests pass whether the token is missing or invalid. */
  allowMissingOrFailed?: boolean;
  providers: JWTProvider[];
}

export interface JWTProvider {
  name: string;
  issuer?: string;
  audiences?: string[];
  remoteJWKS?: RemoteJWKS;
  /** An inline JWKS document. */
  localJWKS?: string;
  claimToHeaders?: { header: string; claim: string }[];
  recomputeRoute?: boolean;
  extractFrom?: JWTExtractor;
}

export interface JWTExtractor {
  headers?: { name: string; valuePrefix?: string }[];
  cookies?: string[];
  params?: string[];
}

export interface RemoteJWKS {
  uri: string;
  destination?: RouteDestination;
  traffic?: TrafficFeatures;
  cacheDuration?: Duration;
  failedRefetchDuration?: Duration;
}

export interface OIDC {
  /** `securitypolicy/<namespace>/<name>`: names the filter and its secrets. */
  name: string;
  provider: OIDCProvider;
  clientID: string;
  clientSecret: PrivateBytes;
  hmacSecret: PrivateBytes;
  scopes?: string[];
  resources?: string[];
  redirectURL: string;
  redirectPath: string;
  logoutPath: string;
  forwardAccessToken?: boolean;
  forwardIDTokenHeader?: string;
  defaultTokenTTL?: Duration;
  refreshToken?: boolean;
  defaultRefreshTokenTTL?: Duration;
  csrfTokenTTL?: Duration;
  /** Suffix of the cookie names, derived from the policy so that several policies do not clash. */
  cookieSuffix: string;
  cookieNameOverrides?: { accessToken?: string; idToken?: string };
  cookieDomain?: string;
  cookieConfig?: { sameSite?: string };
  disableTokenEncryption?: boolean;
  passThroughAuthHeader?: boolean;
  /** Requests matching these headers get a 401 instead of a redirect to the provider. */
  denyRedirect?: { headers: { name: string; type?: string; value: string }[] };
}

export interface OIDCProvider {
  destination?: RouteDestination;
  traffic?: TrafficFeatures;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  endSessionEndpoint?: string;
}

export interface APIKeyAuth {
  /** client id → API key, both base64. */
  credentials: { client: Bytes; key: PrivateBytes }[];
  extractFrom: { headers?: string[]; params?: string[]; cookies?: string[] }[];
  forwardClientIDHeader?: string;
  /** Remove the API key from the request before forwarding. */
  sanitize?: boolean;
}

export interface BasicAuth {
  name: string;
  /** An htpasswd file, base64. */
  users: PrivateBytes;
  forwardUsernameHeader?: string;
}

export interface ExtAuth {
  name: string;
  grpc?: { destination: RouteDestination; authority?: string };
  http?: {
    destination: RouteDestination;
    authority?: string;
    path?: string;
    headersToBackend?: string[];
    /** Replaces the request path sent to the authorization service. */
    pathOverride?: string;
  };
  headersToExtAuth?: string[];
  bodyToExtAuth?: { maxRequestBytes: number };
  failOpen?: boolean;
  traffic?: TrafficFeatures;
  recomputeRoute?: boolean;
  includeRouteMetadata?: boolean;
  contextExtensions?: { name: string; value: PrivateBytes }[];
  statusOnError?: number;
  /** How long to wait for the authorization service. */
  timeout?: Duration;
}

export interface Authorization {
  defaultAction: 'Allow' | 'Deny';
  rules?: AuthorizationRule[];
}

export interface AuthorizationRule {
  name: string;
  action: 'Allow' | 'Deny';
  principal?: Principal;
  operation?: {
    methods?: string[];
    path?: { type?: string; value: string; invert?: boolean };
  };
  /** A CEL expression over the request. */
  cel?: string;
}

export interface Principal {
  clientCIDRs?: CIDRMatch[];
  jwt?: {
    provider: string;
    scopes?: string[];
    claims?: { name: string; values: string[]; valueType?: string }[];
  };
  headers?: { name: string; values: string[] }[];
  clientIPGeoLocations?: {
    country?: string;
    region?: string;
    city?: string;
    anonymous?: { isAnonymous?: boolean; isVPN?: boolean; isHosting?: boolean; isTor?: boolean; isProxy?: boolean };
    /** Autonomous system number. */
    asn?: number;
    isp?: string;
  }[];
}

export interface CSRF {
  additionalOrigins?: StringMatch[];
  shadowFraction?: FractionalPercent;
}
