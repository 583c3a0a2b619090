// External processing (EnvoyExtensionPolicy extProc): one ext_proc filter per processor, off by
// default and turned on by its routes, streaming the parts of requests and responses the policy
// asks for to a gRPC service.
import type { ExtProc } from '../../../ir/xds.js';
import { endpointTypeOf } from '../cluster.js';
import type { Context } from '../context.js';
import { buildRetryPolicy } from '../route-policy.js';
import { protoDuration, typed, type Msg } from '../util.js';
import { statusCodeName } from './extauth.js';
import { enableFilter, uniqueFilters, type HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.ext_proc';
const defaultTimeout = '10s';

const bodyModes: Record<string, string> = {
  Buffered: 'BUFFERED',
  Streamed: 'STREAMED',
  BufferedPartial: 'BUFFERED_PARTIAL',
  FullDuplexStreamed: 'FULL_DUPLEX_STREAMED',
};

function processingMode(e: ExtProc): Msg {
  const m: Msg = {
    requestHeaderMode: e.requestHeaderProcessing ? 'SEND' : 'SKIP',
    responseHeaderMode: e.responseHeaderProcessing ? 'SEND' : 'SKIP',
  };
  const req = e.requestBodyProcessingMode ? bodyModes[e.requestBodyProcessingMode] : undefined;
  const resp = e.responseBodyProcessingMode ? bodyModes[e.responseBodyProcessingMode] : undefined;
  if (req) m.requestBodyMode = req;
  if (resp) m.responseBodyMode = resp;
  // Full-duplex streaming hands the trailers over too, so the processor sees the end of the body.
  m.requestTrailerMode = req === 'FULL_DUPLEX_STREAMED' ? 'SEND' : 'SKIP';
  m.responseTrailerMode = resp === 'FULL_DUPLEX_STREAMED' ? 'SEND' : 'SKIP';
  return m;
}

function filterConfig(e: ExtProc): Msg {
  const svc: Msg = { envoyGrpc: { authority: e.authority, clusterName: e.destination.name }, timeout: defaultTimeout };
  const retry = e.traffic?.retry ? buildRetryPolicy(e.traffic.retry) : undefined;
  if (retry) {
    const rp: Msg = {};
    if (retry.retryBackOff) rp.retryBackOff = retry.retryBackOff;
    if (retry.numRetries !== undefined) rp.numRetries = retry.numRetries;
    if (retry.retryOn) rp.retryOn = retry.retryOn;
    svc.retryPolicy = rp;
  }
  const cfg: Msg = { grpcService: svc };
  if (e.failOpen) cfg.failureModeAllow = true;
  cfg.processingMode = processingMode(e);
  if (e.messageTimeout) cfg.messageTimeout = protoDuration(e.messageTimeout);
  if (e.requestAttributes?.length) cfg.requestAttributes = [...e.requestAttributes];
  if (e.responseAttributes?.length) cfg.responseAttributes = [...e.responseAttributes];
  const md: Msg = {};
  if (e.forwardingMetadataNamespaces?.length) md.forwardingNamespaces = { untyped: [...e.forwardingMetadataNamespaces] };
  if (e.receivingMetadataNamespaces?.length) md.receivingNamespaces = { untyped: [...e.receivingMetadataNamespaces] };
  if (Object.keys(md).length) cfg.metadataOptions = md;
  if (e.allowModeOverride) cfg.allowModeOverride = true;
  // In shadow mode the processor only observes: its answers do not change the traffic.
  if (e.shadowMode) cfg.observabilityMode = true;
  if (e.statusOnError) cfg.statusOnError = { code: statusCodeName(e.statusOnError) };
  return cfg;
}

export const extProc: HTTPFeature = {
  filters(l) {
    return uniqueFilters(l.routes, (r) => r.envoyExtensions?.extProcs?.map((e) => ({
      name: `${filterType}/${e.name}`,
      disabled: true,
      typedConfig: typed('envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor', filterConfig(e)),
    })));
  },
  perRoute(r) {
    const es = r.envoyExtensions?.extProcs;
    if (!es?.length) return undefined;
    return Object.fromEntries(es.map((e) => [`${filterType}/${e.name}`, enableFilter()]));
  },
  resources(l, ctx: Context) {
    for (const r of l.routes ?? []) {
      for (const e of r.envoyExtensions?.extProcs ?? []) {
        const dest = e.destination;
        if (!dest?.settings?.length) continue;
        ctx.addCluster({
          name: dest.name,
          settings: dest.settings,
          endpointType: endpointTypeOf(dest.settings),
          traffic: e.traffic,
          metadata: dest.metadata,
          http2: e.traffic?.http2,
          hashPolicyInCluster: true,
        });
      }
    }
  },
};
