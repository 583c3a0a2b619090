// HTTP filters, as the connection manager runs them: decoder filters see the request headers
// in configuration order once the route is known; the router filter, always last, forwards.
// Encoder hooks see the response headers in reverse order. A filter that answers the request
// itself (a CORS preflight, an auth failure) sends a local reply and returns Stop; one that must
// wait (a remote check) returns Stop and later calls stream.continueDecoding() (or, on the
// response side, stream.continueEncoding()).
//
// Bodies flow through the filters that enlisted on a stream (stream.addDataFilter), in chain
// order. A filter may hold what it is given (return undefined) and pass it on later with
// stream.injectDecodedData / injectEncodedData: what it passes goes to the filters after it.
// While a filter holds the headers (Stop), the body that arrives waits at that point of the
// chain and is handed to each later filter once its headers hook has run, as in Envoy.
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
  /**
   * Response headers on their way out (status may be changed through the stream). Returning
   * Stop holds them (and the body after them) until stream.continueEncoding().
   */
  encodeHeaders?(stream: HttpStream, headers: HeaderList): FilterStatus | void;
  /**
   * Body hooks run only for streams the filter enlisted itself on (stream.addDataFilter), so
   * that filters that never touch bodies cost nothing per chunk. They return the bytes to pass
   * on, or undefined to hold them (the filter injects them later).
   */
  decodeData?(stream: HttpStream, chunk: Buffer, endStream: boolean): Buffer | undefined;
  encodeData?(stream: HttpStream, chunk: Buffer, endStream: boolean): Buffer | undefined;
  /** Request trailers (enlisted filters): Stop holds them until stream.injectDecodedTrailers. */
  decodeTrailers?(stream: HttpStream, trailers: HeaderList): FilterStatus;
  /**
   * Response trailers (enlisted filters): a Buffer turns them into final body bytes (gRPC-Web),
   * Stop holds them until stream.injectEncodedTrailers, Continue or undefined passes them on.
   */
  encodeTrailers?(stream: HttpStream, trailers: HeaderList): Buffer | FilterStatus | undefined;
  /** The stream is over (response sent or reset), for filters that asked (stream.watchCompletion). */
  onStreamComplete?(stream: HttpStream): void;
}

/** Where a filter instance lives: the listener (and HCM) it was configured in. */
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
