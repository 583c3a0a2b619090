// Wasm extensions (EnvoyExtensionPolicy wasm): one filter per module instance, its code fetched
// over HTTPS from Envoy Gateway's Wasm cache through the wasm_cluster.
import type { Xds } from '../../../ir/xds.js';
import type { Context } from '../context.js';
import { compact, typed, type Msg } from '../util.js';
import { enableFilter, uniqueFilters, type HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.wasm';
export const wasmClusterName = 'wasm_cluster';
const wasmCachePort = 18002;

/** Go's json.Marshal of a plugin configuration: object keys sorted. */
export function goJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goJSON).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${goJSON((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export const wasm: HTTPFeature = {
  filters(l) {
    return uniqueFilters(l.routes, (r) => r.envoyExtensions?.wasms?.map((w) => {
      const code: Msg = {};
      if (w.httpWasmCode) {
        code.remote = {
          httpUri: { uri: w.httpWasmCode.servingURL, cluster: wasmClusterName, timeout: '10s' },
          sha256: w.httpWasmCode.sha256,
          retryPolicy: { retryBackOff: { baseInterval: '1s', maxInterval: '30s' }, numRetries: 10 },
        };
      }
      const config: Msg = {
        name: w.wasmName,
        vmConfig: { vmId: w.name, runtime: 'envoy.wasm.runtime.v8', code },
      };
      if (w.rootID) config.rootId = w.rootID;
      // The plugin's configuration is handed over as JSON text (empty without one).
      config.configuration = w.config === undefined || w.config === null
        ? typed('google.protobuf.StringValue', { value: '' })
        : typed('google.protobuf.StringValue', { value: goJSON(w.config) });
      if (w.failOpen) config.failOpen = true;
      if (w.hostKeys?.length) {
        config.vmConfig.environmentVariables = { hostEnvKeys: [...w.hostKeys] };
      }
      return { name: `${filterType}/${w.name}`, disabled: true, typedConfig: typed('envoy.extensions.filters.http.wasm.v3.Wasm', { config }) };
    }));
  },
  perRoute(r) {
    const ws = r.envoyExtensions?.wasms;
    if (!ws?.length) return undefined;
    return Object.fromEntries(ws.map((w) => [`${filterType}/${w.name}`, enableFilter()]));
  },
  sharedResources(ctx, ir) {
    // The cache is reached with the proxy's client certificate: no certificate, no cluster.
    if (!ir.globalResources?.envoyClientCertificate) return;
    if (!ir.http?.some((l) => l.routes?.some((r) => r.envoyExtensions?.wasms?.length))) return;
    addWasmCluster(ctx, ir);
  },
};

/** The cluster to Envoy Gateway's Wasm cache: mTLS with the proxy's client certificate. */
function addWasmCluster(ctx: Context, ir: Xds): void {
  if (ctx.table.has('clusters', wasmClusterName)) return;
  const ns = ctx.options.controllerNamespace ?? 'envoy-gateway-system';
  const at = ctx.options.wasmCache;
  const host = at?.host ?? `envoy-gateway.${ns}.svc.${ctx.options.dnsDomain ?? 'cluster.local'}`;
  const cert = ir.globalResources?.envoyClientCertificate;
  ctx.addCluster({
    name: wasmClusterName,
    settings: [{ name: `${wasmClusterName}/backend/-1`, addressType: 'FQDN', endpoints: [{ host, port: at?.port ?? wasmCachePort }], weight: 1, protocol: 'HTTP2' }],
    endpointType: 'dns',
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
        commonTlsContext: compact({
          tlsCertificateSdsSecretConfigs: cert ? [{ name: cert.name, sdsConfig: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' } }] : undefined,
          tlsParams: { tlsMaximumProtocolVersion: 'TLSv1_3' },
          validationContext: { trustedCa: { filename: at?.caFile ?? '/certs/ca.crt' } },
        }),
      }),
    },
  });
  if (cert) ctx.addSecretOnce(cert);
}
