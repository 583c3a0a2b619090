// What the translator is told by the EnvoyGateway configuration it runs under. The defaults
// are Envoy Gateway's.

export interface TranslatorSettings {
  /** Controller name a GatewayClass must carry to be ours. */
  gatewayControllerName: string;
  /** The GatewayClass whose Gateways are translated. */
  gatewayClassName: string;
  /** Namespace of the controller: where proxies (and their Services) run. */
  controllerNamespace: string;
  globalRateLimitEnabled?: boolean;
  envoyPatchPolicyEnabled?: boolean;
  backendEnabled?: boolean;
  /** Proxies run in each Gateway's namespace, named like the Gateway. */
  gatewayNamespaceMode?: boolean;
  /** Proxies run as host processes: listener ports are used as they are, loopback backends allowed. */
  runningOnHost?: boolean;
  luaEnvoyExtensionPolicyDisabled?: boolean;
  sdsSecretRefEnabled?: boolean;
  perResourceSystemCASecret?: boolean;
  /**
   * The Wasm module cache: where the proxies fetch each EnvoyExtensionPolicy's module, and its
   * checksum. The translator does no I/O, so the modules are fetched beforehand (see src/wasm/);
   * without a cache, a Wasm extension is an error on its policy.
   */
  wasmCache?: WasmCache;
  /** Cluster DNS domain, for Service host names. */
  dnsDomain?: string;
}

/** What a policy asks of the Wasm cache for one module. */
export interface WasmModuleRequest {
  /** The user's checksum: of the module (HTTP) or of the image manifest (Image). */
  sha256?: string;
  pullPolicy?: WasmPullPolicy;
  /** The `.dockerconfigjson` of the image's pull secret. */
  pullSecret?: string;
  /** The Wasm extension asking (`envoyextensionpolicy/<ns>/<name>/wasm/<i>`), and its policy's version. */
  resourceName: string;
  resourceVersion: string;
}

export type WasmPullPolicy = 'IfNotPresent' | 'Always';

/** Where the proxies fetch a module and its SHA-256, or why it cannot be had. */
export type WasmResolution = { servingURL: string; checksum: string } | { error: string };

export interface WasmCache {
  /** The module fetched from `url` (HTTP(S), or `oci://` with a tag or digest), as known now. */
  resolve(url: string, request: WasmModuleRequest): WasmResolution;
}

export const defaultControllerName = 'gateway.envoyproxy.io/gatewayclass-controller';

export function defaultSettings(overrides: Partial<TranslatorSettings> = {}): TranslatorSettings {
  return {
    gatewayControllerName: defaultControllerName,
    gatewayClassName: 'eg',
    controllerNamespace: 'envoy-gateway-system',
    globalRateLimitEnabled: false,
    envoyPatchPolicyEnabled: false,
    backendEnabled: false,
    dnsDomain: 'cluster.local',
    ...overrides,
  };
}
