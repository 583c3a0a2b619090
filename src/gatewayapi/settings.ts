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
  /** Where Envoy Gateway serves the Wasm modules it caches (default: its Service in the controller namespace). */
  wasmServedUrlPrefix?: string;
  /** Cluster DNS domain, for Service host names. */
  dnsDomain?: string;
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
