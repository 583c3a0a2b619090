// ClientTrafficPolicy: how a listener treats downstream clients (TLS and client certificates,
// HTTP/1, HTTP/2 and HTTP/3, client IP detection, headers, paths, timeouts, connection limits).
import { resource } from '../meta.js';
import { int32, isCIDR, list, rule, str, z } from '../schema.js';
import { HTTPHeader } from '../gatewayapi/httpfilters.js';
import { Namespace, ObjectName, Group, Kind, PolicyStatus } from '../gatewayapi/shared.js';
import { GoDuration, HTTP2Settings, policyTargets, policyTargetShape, Quantity, TCPKeepalive, tlsSettingsShape, tlsVersionOrder, uint32 } from './shared.js';

export const CIDR = str({ what: 'an address range in CIDR notation' }).refine(isCIDR, 'must be an address range in CIDR notation, e.g. 10.0.0.0/8');

export const XForwardedForSettings = z
  .strictObject({
    numTrustedHops: uint32().optional(),
    trustedCIDRs: list(CIDR, undefined, 1).optional(),
    disableXForwardedForAppend: z.boolean().optional(),
  })
  .superRefine(
    rule((x, fail) => {
      if (x.numTrustedHops !== undefined && x.trustedCIDRs !== undefined) fail('give numTrustedHops or trustedCIDRs, not both', 'trustedCIDRs');
    }),
  );

export const ClientIPDetectionSettings = z
  .strictObject({
    xForwardedFor: XForwardedForSettings.optional(),
    customHeader: z.strictObject({ name: str({ min: 1, max: 255 }), failClosed: z.boolean().optional() }).optional(),
  })
  .superRefine(
    rule((c, fail) => {
      if (c.xForwardedFor && c.customHeader) fail('customHeader may not be used together with xForwardedFor', 'customHeader');
    }),
  );

const CertificateRef = z.strictObject({ group: Group.default(''), kind: Kind.default('Secret'), name: ObjectName, namespace: Namespace.optional() });

const SANMatch = z.strictObject({ type: z.enum(['Exact', 'Prefix', 'Suffix', 'RegularExpression']).default('Exact'), value: str({ min: 1 }) });

export const ClientValidationContext = z.strictObject({
  optional: z.boolean().optional(),
  mode: z.enum(['RequireAny', 'VerifyIfGiven', 'Request', 'Require']).optional(),
  caCertificateRefs: list(CertificateRef, 8).optional(),
  spkiHashes: list(str({ min: 1 })).optional(),
  certificateHashes: list(str({ min: 1 })).optional(),
  subjectAltNames: z
    .strictObject({
      dnsNames: list(SANMatch).optional(),
      emailAddresses: list(SANMatch).optional(),
      ipAddresses: list(SANMatch).optional(),
      uris: list(SANMatch).optional(),
      otherNames: list(z.strictObject({ oid: str({ min: 1 }), type: z.enum(['Exact', 'Prefix', 'Suffix', 'RegularExpression']).default('Exact'), value: str({ min: 1 }) })).optional(),
    })
    .optional(),
  crl: z.strictObject({ refs: list(CertificateRef, 8, 1), onlyVerifyLeafCertificate: z.boolean().optional() }).optional(),
  allowExpiredCertificate: z.boolean().optional(),
});

export const ClientTLSSettings = z
  .strictObject({
    clientValidation: ClientValidationContext.optional(),
    session: z
      .strictObject({
        resumption: z.strictObject({ stateless: z.strictObject({}).optional(), stateful: z.strictObject({}).optional() }).optional(),
      })
      .optional(),
    fingerprints: list(z.enum(['JA3', 'JA4'])).optional(),
    ...tlsSettingsShape,
  })
  .superRefine(tlsVersionOrder);

/** Header changes at the edge; addIfAbsent adds only when the request lacks the header. */
export const EdgeHeaderFilter = z.strictObject({
  set: list(HTTPHeader, 16).optional(),
  add: list(HTTPHeader, 16).optional(),
  addIfAbsent: list(HTTPHeader, 16).optional(),
  remove: list(str({ min: 1 }), 16).optional(),
});

export const HeaderSettings = z.strictObject({
  xForwardedClientCert: z
    .strictObject({
      mode: z.enum(['Sanitize', 'ForwardOnly', 'AppendForward', 'SanitizeSet', 'AlwaysForwardOnly']).optional(),
      certDetailsToAdd: list(z.enum(['Subject', 'Cert', 'Chain', 'DNS', 'URI'])).optional(),
    })
    .optional(),
  enableEnvoyHeaders: z.boolean().optional(),
  disableRateLimitHeaders: z.boolean().optional(),
  withUnderscoresAction: z.enum(['Allow', 'RejectRequest', 'DropHeader']).optional(),
  preserveXRequestID: z.boolean().optional(),
  requestID: z.enum(['PreserveOrGenerate', 'Preserve', 'Generate', 'Disable']).optional(),
  earlyRequestHeaders: EdgeHeaderFilter.optional(),
  lateResponseHeaders: EdgeHeaderFilter.optional(),
  maxRequestHeaderLimit: Quantity.optional(),
  host: z.strictObject({ stripTrailingHostDot: z.boolean().optional() }).optional(),
});

export const ClientTimeout = z.strictObject({
  tcp: z
    .strictObject({ idleTimeout: GoDuration.optional(), tlsHandshakeTimeout: GoDuration.optional(), connectionInspectionTimeout: GoDuration.optional() })
    .optional(),
  http: z
    .strictObject({
      requestReceivedTimeout: GoDuration.optional(),
      requestHeadersReceivedTimeout: GoDuration.optional(),
      idleTimeout: GoDuration.optional(),
      streamIdleTimeout: GoDuration.optional(),
    })
    .optional(),
});

export const ClientConnection = z.strictObject({
  connectionLimit: z
    .strictObject({
      value: int32(1).optional(),
      closeDelay: GoDuration.optional(),
      maxConnectionDuration: GoDuration.optional(),
      maxRequestsPerConnection: uint32().optional(),
      maxStreamDuration: GoDuration.optional(),
    })
    .optional(),
  bufferLimit: Quantity.optional(),
  socketBufferLimit: Quantity.optional(),
  maxAcceptPerSocketEvent: uint32().optional(),
});

export const HTTP1Settings = z.strictObject({
  enableTrailers: z.boolean().optional(),
  preserveHeaderCase: z.boolean().optional(),
  http10: z.strictObject({ useDefaultHost: z.boolean().optional() }).optional(),
  disableSafeMaxConnectionDuration: z.boolean().optional(),
  ignoredUpgradeTypes: list(z.strictObject({ type: z.enum(['Exact', 'Prefix', 'Suffix', 'RegularExpression']).default('Exact'), value: str({ min: 1 }) })).optional(),
});

export const ClientTrafficPolicySpec = z
  .strictObject({
    ...policyTargetShape,
    tcpKeepalive: TCPKeepalive.optional(),
    enableProxyProtocol: z.boolean().optional(),
    proxyProtocol: z.strictObject({ optional: z.boolean().optional() }).optional(),
    clientIPDetection: ClientIPDetectionSettings.optional(),
    tls: ClientTLSSettings.optional(),
    path: z
      .strictObject({
        escapedSlashesAction: z.enum(['KeepUnchanged', 'RejectRequest', 'UnescapeAndForward', 'UnescapeAndRedirect']).optional(),
        disableMergeSlashes: z.boolean().optional(),
      })
      .optional(),
    headers: HeaderSettings.optional(),
    timeout: ClientTimeout.optional(),
    connection: ClientConnection.optional(),
    http1: HTTP1Settings.optional(),
    http2: HTTP2Settings.optional(),
    http3: z.strictObject({}).optional(),
    healthCheck: z.strictObject({ path: str({ min: 1, max: 1024 }) }).optional(),
    scheme: str().optional(),
    grpc: z.strictObject({ enableWeb: z.boolean().optional(), enableStats: z.boolean().optional() }).optional(),
  })
  .superRefine(policyTargets);
export type ClientTrafficPolicySpec = z.input<typeof ClientTrafficPolicySpec>;

export const ClientTrafficPolicy = resource('ClientTrafficPolicy', { spec: ClientTrafficPolicySpec, status: PolicyStatus.optional() });
export type ClientTrafficPolicy = z.input<typeof ClientTrafficPolicy>;


