// The HTTP connection manager of an HTTP listener: RDS for its routes, the client-facing HTTP
// settings (HTTP/1.1, HTTP/2, timeouts, headers, path normalisation, client IP detection, request
// IDs) and the HTTP filter chain.
import type { AccessLog, HTTPListener, HTTP2Settings, Tracing } from '../../ir/xds.js';
import { buildAccessLogs } from './accesslog.js';
import { buildStringMatcher } from './route.js';
import { adsConfigSource, compact, protoDuration, typed, type Msg } from './util.js';

/** Envoy Gateway's downstream HTTP/2 defaults. */
const h2Defaults = { maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 };

/**
 * Downstream HTTP/2 options. Envoy Gateway's IR stores the stream window under the
 * `initialConnectionWindowSize` key and vice versa (see the IR type).
 */
export function downstreamHTTP2Options(h2: HTTP2Settings | undefined): Msg {
  const o: Msg = {
    maxConcurrentStreams: h2?.maxConcurrentStreams ?? h2Defaults.maxConcurrentStreams,
    initialStreamWindowSize: h2?.initialConnectionWindowSize ?? h2Defaults.initialStreamWindowSize,
    initialConnectionWindowSize: h2?.initialStreamWindowSize ?? h2Defaults.initialConnectionWindowSize,
  };
  if (h2?.resetStreamOnError !== undefined) o.overrideStreamErrorOnInvalidHttpMessage = h2.resetStreamOnError;
  if (h2?.connectionKeepalive) o.connectionKeepalive = keepaliveSettings(h2.connectionKeepalive);
  return o;
}

/** HTTP/2 PING keepalive (config.core.v3.KeepaliveSettings), for both directions. */
export function keepaliveSettings(ka: NonNullable<HTTP2Settings['connectionKeepalive']>): Msg {
  return compact({
    interval: protoDuration(ka.interval),
    timeout: protoDuration(ka.timeout),
    intervalJitter: ka.intervalJitter !== undefined ? { value: ka.intervalJitter } : undefined,
    connectionIdleInterval: protoDuration(ka.idleInterval),
  });
}

function http1Options(l: HTTPListener): Msg | undefined {
  const h1 = l.http1;
  if (!h1) return undefined;
  const o: Msg = {};
  if (h1.enableTrailers) o.enableTrailers = true;
  if (h1.preserveHeaderCase) {
    o.headerKeyFormat = {
      statefulFormatter: {
        name: 'preserve_case',
        typedConfig: typed('envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig'),
      },
    };
  }
  if (h1.http10) {
    o.acceptHttp10 = true;
    if (h1.http10.defaultHost) o.defaultHostForHttp10 = h1.http10.defaultHost;
  }
  if (h1.ignoredUpgradeTypes?.length) o.ignoreHttp11Upgrade = h1.ignoredUpgradeTypes.map(buildStringMatcher);
  return Object.keys(o).length ? o : undefined;
}

const escapedSlashActions: Record<string, string> = {
  KeepUnchanged: 'KEEP_UNCHANGED',
  RejectRequest: 'REJECT_REQUEST',
  UnescapeAndRedirect: 'UNESCAPE_AND_REDIRECT',
  UnescapeAndForward: 'UNESCAPE_AND_FORWARD',
};

const underscoreActions: Record<string, string | undefined> = {
  Allow: undefined,
  RejectRequest: 'REJECT_REQUEST',
  DropHeader: 'DROP_HEADER',
};

const xfccModes: Record<string, string> = {
  ForwardOnly: 'FORWARD_ONLY',
  AppendForward: 'APPEND_FORWARD',
  SanitizeSet: 'SANITIZE_SET',
  AlwaysForwardOnly: 'ALWAYS_FORWARD_ONLY',
};

function applyClientIPDetection(m: Msg, l: HTTPListener): void {
  const d = l.clientIPDetection;
  m.useRemoteAddress = true;
  if (d?.customHeader) {
    m.useRemoteAddress = false;
    const cfg: Msg = { headerName: d.customHeader.name, allowExtensionToSetAddressAsTrusted: true };
    if (d.customHeader.failClosed) cfg.rejectWithStatus = { code: 'Forbidden' };
    m.originalIpDetectionExtensions = [{
      name: 'envoy.extensions.http.original_ip_detection.custom_header',
      typedConfig: typed('envoy.extensions.http.original_ip_detection.custom_header.v3.CustomHeaderConfig', cfg),
    }];
  } else if (d?.xForwardedFor?.trustedCIDRs?.length || d?.xForwardedFor?.disableXForwardedForAppend) {
    // The XFF extension, needed for trusted CIDRs or to keep X-Forwarded-For as it came.
    const x = d.xForwardedFor;
    const cfg: Msg = {};
    if (x.trustedCIDRs?.length) {
      cfg.xffTrustedCidrs = {
        cidrs: x.trustedCIDRs.map((c) => {
          const [ip, len] = c.split('/');
          return { addressPrefix: ip, prefixLen: Number(len ?? (ip!.includes(':') ? 128 : 32)) };
        }),
      };
    } else if (x.numTrustedHops) {
      // Counted without the proxy's own hop, which the extension does not see.
      cfg.xffNumTrustedHops = x.numTrustedHops - 1;
    }
    cfg.skipXffAppend = !!x.disableXForwardedForAppend;
    m.useRemoteAddress = false;
    m.originalIpDetectionExtensions = [{
      name: 'envoy.extensions.http.original_ip_detection.xff',
      typedConfig: typed('envoy.extensions.http.original_ip_detection.xff.v3.XffConfig', cfg),
    }];
  } else if (d?.xForwardedFor?.numTrustedHops) {
    m.xffNumTrustedHops = d.xForwardedFor.numTrustedHops;
  }
}

function applyRequestID(m: Msg, l: HTTPListener): void {
  switch (l.headers?.requestID) {
    case 'Preserve':
      m.generateRequestId = false;
      m.preserveExternalRequestId = true;
      break;
    case 'PreserveOrGenerate':
      m.generateRequestId = true;
      m.preserveExternalRequestId = true;
      break;
    case 'Generate':
      m.generateRequestId = true;
      break;
    case 'Disable':
      m.generateRequestId = false;
      break;
  }
  const ext = l.requestID;
  if (ext && ext !== 'PackAndSample') {
    m.requestIdExtension = {
      typedConfig: typed('envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig', {
        packTraceReason: ext === 'Pack' || ext === 'PackAndSample',
        useRequestIdForTraceSampling: ext === 'Sample' || ext === 'PackAndSample',
      }),
    };
  }
}

export interface HCMOptions {
  statPrefix: string;
  /** The RouteConfiguration served over RDS. */
  routeConfigName: string;
  accessLog?: AccessLog;
  tracing?: Tracing;
  http3?: boolean;
  /** Tracing config for the HCM, built by the tracing module. */
  hcmTracing?: Msg;
  httpFilters: Msg[];
}

/** The HttpConnectionManager typed config for an HTTP listener. */
export function buildHCM(l: HTTPListener, opts: HCMOptions): Msg {
  const m: Msg = {};
  const logs = buildAccessLogs(opts.accessLog, 'route');
  if (logs) m.accessLog = logs;
  if (opts.http3) m.codecType = 'HTTP3';
  m.statPrefix = opts.statPrefix;
  m.rds = { configSource: adsConfigSource(), routeConfigName: opts.routeConfigName };
  const h1 = http1Options(l);
  if (h1) m.httpProtocolOptions = h1;
  m.serverHeaderTransformation = 'PASS_THROUGH';
  // The HTTP/2 settings are kept on HTTP/3 connection managers too (Envoy Gateway writes both).
  m.http2ProtocolOptions = downstreamHTTP2Options(l.http2);
  if (opts.http3) m.http3ProtocolOptions = {};
  applyClientIPDetection(m, l);
  m.normalizePath = true;
  if (l.path?.mergeSlashes) m.mergeSlashes = true;
  const esc = escapedSlashActions[l.path?.escapedSlashesAction ?? ''];
  if (esc) m.pathWithEscapedSlashesAction = esc;
  const common: Msg = {};
  const ua = l.headers?.withUnderscoresAction;
  const uaValue = ua === undefined ? 'REJECT_REQUEST' : underscoreActions[ua];
  if (uaValue) common.headersWithUnderscoresAction = uaValue;
  const t = l.timeout?.http;
  if (t?.idleTimeout) common.idleTimeout = protoDuration(t.idleTimeout);
  const limit = l.connection?.limit;
  if (limit?.maxConnectionDuration) common.maxConnectionDuration = protoDuration(limit.maxConnectionDuration);
  // HTTP/1.1 connections past their maximum age are closed between requests, not during one.
  const safeDrain = !!limit?.maxConnectionDuration && !l.http1?.disableSafeMaxConnectionDuration;
  if (limit?.maxRequestsPerConnection !== undefined) common.maxRequestsPerConnection = limit.maxRequestsPerConnection;
  if (limit?.maxStreamDuration) common.maxStreamDuration = protoDuration(limit.maxStreamDuration);
  m.commonHttpProtocolOptions = common;
  if (safeDrain) m.http1SafeMaxConnectionDuration = true;
  if (t?.requestReceivedTimeout) m.requestTimeout = protoDuration(t.requestReceivedTimeout);
  if (t?.requestHeadersReceivedTimeout) m.requestHeadersTimeout = protoDuration(t.requestHeadersReceivedTimeout);
  if (t?.streamIdleTimeout) m.streamIdleTimeout = protoDuration(t.streamIdleTimeout);
  if (l.headers?.maxRequestHeadersKB) m.maxRequestHeadersKb = l.headers.maxRequestHeadersKB;
  if (l.host?.stripTrailingHostDot) m.stripTrailingHostDot = true;
  if (l.matchBackendScheme) m.schemeHeaderTransformation = { matchUpstream: true };
  const xfcc = l.headers?.xForwardedClientCert;
  if (xfcc?.mode && xfccModes[xfcc.mode]) {
    m.forwardClientCertDetails = xfccModes[xfcc.mode];
    if (xfcc.certDetailsToAdd?.length) {
      const d: Msg = {};
      for (const c of xfcc.certDetailsToAdd) {
        if (c === 'Subject') d.subject = true;
        else if (c === 'Cert') d.cert = true;
        else if (c === 'Chain') d.chain = true;
        else if (c === 'DNS') d.dns = true;
        else if (c === 'URI') d.uri = true;
      }
      m.setCurrentClientCertDetails = d;
    }
  }
  applyRequestID(m, l);
  if (opts.hcmTracing) m.tracing = opts.hcmTracing;
  const late = l.headers;
  if (late?.earlyAddRequestHeaders?.length || late?.earlyRemoveRequestHeaders?.length) {
    m.earlyHeaderMutationExtensions = [{
      name: 'envoy.http.early_header_mutation.header_mutation',
      typedConfig: typed('envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation', {
        mutations: [
          ...(late.earlyRemoveRequestHeaders ?? []).map((h) => ({ remove: h })),
          ...(late.earlyAddRequestHeaders ?? []).flatMap((h) => (h.value?.length ? h.value : ['']).map((v) => ({
            append: {
              header: v === '' ? { key: h.name } : { key: h.name, value: v },
              appendAction: h.addIfAbsent ? 'ADD_IF_ABSENT' : h.append ? undefined : 'OVERWRITE_IF_EXISTS_OR_ADD',
            },
          }))),
        ],
      }),
    }];
  }
  m.httpFilters = opts.httpFilters;
  return compact(m);
}
