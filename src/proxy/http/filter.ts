// HTTP filters, as the connection manager runs them: decoder filters see the request headers
// in configuration order once the route is known; the router filter, always last, forwards.
// Encoder hooks see the response headers in reverse order. A filter that answers the request
// itself (a CORS preflight, an auth failure) sends a local reply and returns Stop; one that must
// wait (a remote check) returns Stop and later calls stream.continueDecoding().
import type { ConfigProblem } from '../config/errors.js';
import type { Json } from '../config/json.js';
import type { SecretStore } from '../tls/secrets.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';
import type { HeaderList } from './headers.js';
import type { HttpStream } from './stream.js';

export const enum FilterStatus {
  Continue = 0,
  Stop = 1,
}

export interface HttpFilter {
  /** The instance name from httpFilters[].name: per-route configs are keyed by it. */
  readonly name: string;
  decodeHeaders?(stream: HttpStream): FilterStatus;
  /** Response headers on their way out (status may be changed through the stream). */
  encodeHeaders?(stream: HttpStream, headers: HeaderList): void;
  /**
   * Body hooks run only for streams the filter enlisted itself on (stream.addDataFilter in
   * decodeHeaders), so that filters that never touch bodies cost nothing per chunk.
   */
  decodeData?(stream: HttpStream, chunk: Buffer, endStream: boolean): Buffer;
  encodeData?(stream: HttpStream, chunk: Buffer, endStream: boolean): Buffer;
  /** May turn response trailers into final body bytes (returns them), else undefined. */
  encodeTrailers?(stream: HttpStream, trailers: HeaderList): Buffer | undefined;
}

export interface FilterFactoryContext {
  readFile(path: string): Buffer;
  /** Problems found that do not stop the listener from loading (none today). */
  warn?(p: ConfigProblem): void;
  /** The live clusters, for filters that call services (JWKS, auth servers); set by the proxy. */
  clusters?: ClusterManagerView;
  /** The live secrets (SDS), for filters that read generic secrets; set by the proxy. */
  secrets?: SecretStore;
}

/** One kind of HTTP filter, registered by the type URL of its typed config. */
export interface HttpFilterFactory {
  /** e.g. envoy.extensions.filters.http.cors.v3.Cors */
  readonly configType: string;
  create(name: string, config: Json, path: string, ctx: FilterFactoryContext): HttpFilter;
  /** Per-route config types this filter understands, with their parser. */
  readonly perRoute?: Record<string, (config: Json, path: string) => unknown>;
}
