// Envoy extensions a route runs, from EnvoyExtensionPolicies: external processing, Wasm, Lua
// and dynamic modules.
import type { Duration } from './common.js';
import type { RouteDestination } from './destination.js';
import type { TrafficFeatures } from './traffic.js';

export interface EnvoyExtensionFeatures {
  extProcs?: ExtProc[];
  wasms?: Wasm[];
  luas?: Lua[];
  dynamicModules?: DynamicModule[];
}

export interface ExtProc {
  /** `envoyextensionpolicy/<namespace>/<name>/extproc/<index>`: the filter name suffix. */
  name: string;
  destination: RouteDestination;
  traffic?: TrafficFeatures;
  authority?: string;
  messageTimeout?: Duration;
  failOpen?: boolean;
  requestHeaderProcessing?: boolean;
  responseHeaderProcessing?: boolean;
  /** Buffered, Streamed, BufferedPartial, FullDuplexStreamed. */
  requestBodyProcessingMode?: string;
  responseBodyProcessingMode?: string;
  requestAttributes?: string[];
  responseAttributes?: string[];
  forwardingMetadataNamespaces?: string[];
  receivingMetadataNamespaces?: string[];
  allowModeOverride?: boolean;
  statusOnError?: number;
  shadowMode?: boolean;
}

export interface Wasm {
  name: string;
  /** The Wasm VM's root id. */
  rootID?: string;
  wasmName: string;
  /** Plugin configuration, passed to the module as JSON. */
  config?: unknown;
  failOpen?: boolean;
  /** Served by the Envoy Gateway Wasm cache. */
  httpWasmCode?: { originalDownloadingURL: string; servingURL: string; sha256: string };
  /** Environment variables of the host made visible to the module. */
  hostKeys?: string[];
}

/**
 * A Lua script. Envoy Gateway's IR has no JSON tags on this struct, hence the capitalised keys.
 */
export interface Lua {
  Name: string;
  Code: string;
  /** Values made available to the script as filter context. */
  FilterContext?: Record<string, unknown> | null;
}

export interface DynamicModule {
  name: string;
  /** The module's library path (local) or the cache path it was fetched to. */
  path?: string;
  remote?: { url: string; sha256?: string };
  filterName?: string;
  config?: unknown;
  doNotClose?: boolean;
  loadGlobally?: boolean;
  /** The module answers requests itself (no router after it). */
  terminalFilter?: boolean;
}
