// An HTTP route as the xds translator sees it: one match (one HTTPRoute/GRPCRoute rule match for
// one hostname) with everything it does. Route order in the listener is match precedence.
import type { AddHeader, Bytes, Duration, ResourceMetadata, StringMatch } from './common.js';
import type { CredentialInjection, RouteDestination } from './destination.js';
import type { EnvoyExtensionFeatures } from './extensions.js';
import type { CORS, SecurityFeatures } from './security.js';
import type { Retry, TrafficFeatures } from './traffic.js';

export interface HTTPRoute {
  /** `httproute/<namespace>/<name>/rule/<i>/match/<j>/<hostname with . as _>`. */
  name: string;
  /** The virtual host this route belongs to ("*" for any). */
  hostname: string;
  /** A GRPCRoute or an h2 backend: the route needs HTTP/2 upstream. */
  isHTTP2?: boolean;
  pathMatch?: StringMatch;
  headerMatches?: StringMatch[];
  queryParamMatches?: StringMatch[];
  cookieMatches?: StringMatch[];
  addRequestHeaders?: AddHeader[];
  removeRequestHeaders?: string[];
  addResponseHeaders?: AddHeader[];
  removeResponseHeaders?: string[];
  directResponse?: DirectResponse;
  redirect?: HTTPRedirect;
  mirrors?: MirrorPolicy[];
  destination?: RouteDestination;
  urlRewrite?: URLRewrite;
  /** The route timeout (HTTPRoute rule timeouts.request). */
  timeout?: Duration;
  /** Retries of the HTTPRoute rule (rule.retry); a BackendTrafficPolicy's go in `traffic`. */
  retry?: Retry;
  traffic?: TrafficFeatures;
  security?: SecurityFeatures;
  envoyExtensions?: EnvoyExtensionFeatures;
  /** CORS from an HTTPRoute filter (SecurityPolicy CORS lives in `security`). */
  cors?: CORS;
  credentialInjection?: CredentialInjection;
  /** Filters provided by an extension server (opaque to the translator). */
  extensionRefs?: { object: unknown }[];
  /** Use the downstream protocol (HTTP/1.1 or HTTP/2) for the upstream connection. */
  useClientProtocol?: boolean;
  sessionPersistence?: SessionPersistence;
  metadata?: ResourceMetadata;
  /** Overrides the route's stat_prefix. */
  statName?: string;
}

export interface DirectResponse {
  statusCode: number;
  body?: Bytes;
}

export interface HTTPRedirect {
  scheme?: string;
  hostname?: string;
  path?: HTTPPathModifier;
  port?: number;
  statusCode?: number;
}

/** Exactly one of fullReplace / prefixMatchReplace / regexMatchReplace. */
export interface HTTPPathModifier {
  fullReplace?: string | null;
  prefixMatchReplace?: string | null;
  regexMatchReplace?: RegexMatchReplace;
}

export interface RegexMatchReplace {
  pattern: string;
  substitution: string;
}

export interface URLRewrite {
  path?: HTTPPathModifier;
  host?: {
    /** A fixed host. */
    name?: string;
    /** Take the host from this request header. */
    header?: string;
    /** Use the backend's hostname. */
    backend?: boolean;
    /** Rewrite the host from the path by regex. */
    pathRegex?: RegexMatchReplace;
  };
  /** Keep the original host in X-Forwarded-Host. */
  appendXForwardedHost?: boolean;
}

export interface MirrorPolicy {
  destination: RouteDestination;
  /** Percent of requests mirrored (absent: all). */
  percentage?: number;
}

export interface SessionPersistence {
  cookie?: { name: string; ttl?: Duration };
  header?: { name: string };
}
