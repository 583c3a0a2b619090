// What a ClientTrafficPolicy does to one listener's IR: keepalive, connection limits, PROXY
// protocol, timeouts, and for HTTP listeners client IP detection, headers, paths, HTTP/1-2-3,
// health checks, and for TLS listeners the TLS parameters and client certificate validation.
//
// Some settings land even when another one is invalid (headers, paths, the TLS parameters, which
// are edited in place as Envoy Gateway does); the rest only when all of them are valid. A policy
// with an invalid setting makes the listener's HTTP routes answer 500 and drops its TCP routes.
import type { ClientTrafficPolicy, ClientTrafficPolicySpec } from '../api/envoygateway/index.js';
import type * as ir from '../ir/xds.js';
import type { ListenerContext } from './contexts.js';
import { formatDuration, parseDuration } from './duration.js';
import { clientCACertificate, clientCRL, validCipher } from './clienttrafficca.js';
import { maxUint32, parseQuantity, wholeQuantity } from './quantity.js';
import type { Translation } from './translation.js';

type Spec = Partial<ClientTrafficPolicySpec>;
type Field<K extends keyof ClientTrafficPolicySpec> = ClientTrafficPolicySpec[K];

/** Applies a policy to one listener; returns the problems found (empty when it applied). */
export function applyClientTrafficPolicy(t: Translation, policy: ClientTrafficPolicy, l: ListenerContext, xds: ir.Xds): string[] {
  const spec: Spec = policy.spec ?? {};
  const http = xds.http?.find((h) => h.name === l.irName);
  const tcp = xds.tcp?.find((h) => h.name === l.irName);
  const errs: string[] = [];
  const collect = <T>(what: string, f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      errs.push(`${what}: ${e.message}`);
      return undefined;
    }
  };

  const keepalive = collect('TCP KeepAlive', () => tcpKeepalive(spec.tcpKeepalive));
  const connection = collect('Connection', () => clientConnection(spec.connection));
  const proxyProtocol: ir.ProxyProtocolSettings | undefined = spec.proxyProtocol ? (spec.proxyProtocol.optional ? { optional: true } : {}) : spec.enableProxyProtocol ? {} : undefined;
  const timeout = collect('Timeout', () => clientTimeout(spec.timeout));

  if (http) {
    if (spec.clientIPDetection) http.clientIPDetection = structuredClone(spec.clientIPDetection);
    collect('Headers', () => headerSettings(spec.headers, http));
    if (spec.path) {
      http.path ??= {};
      if (spec.path.disableMergeSlashes !== undefined && spec.path.disableMergeSlashes !== null) http.path.mergeSlashes = !spec.path.disableMergeSlashes;
      if (spec.path.escapedSlashesAction) http.path.escapedSlashesAction = spec.path.escapedSlashesAction;
    }
    const http1 = collect('HTTP1', () => http1Settings(spec.http1, http));
    const http2 = collect('HTTP2', () => http2Settings(spec.http2));
    if (http.tls && spec.http3) {
      http.http3 = {};
      const infraListener = t.infraIR[t.irKey(l.gateway)]?.proxy.listeners?.find((p) => p.name === l.irName);
      if (infraListener) infraListener.http3 = {};
    }
    if (spec.healthCheck) http.healthCheck = { path: spec.healthCheck.path };
    if (spec.scheme === 'MatchBackend') http.matchBackendScheme = true;
    if (spec.grpc) {
      http.grpc ??= {};
      if (spec.grpc.enableWeb !== undefined && spec.grpc.enableWeb !== null) http.grpc.enableGRPCWeb = !!spec.grpc.enableWeb;
      if (spec.grpc.enableStats !== undefined && spec.grpc.enableStats !== null) http.grpc.enableGRPCStats = !!spec.grpc.enableStats;
    }
    collect('TLS', () => tlsParameters(t, policy, http.tls));
    if (errs.length) {
      for (const r of http.routes ?? []) r.directResponse = { statusCode: 500 };
      return errs;
    }
    assign(http, { tcpKeepalive: keepalive, connection, proxyProtocol, timeout, http1, http2 });
  }
  if (tcp) {
    collect('TLS', () => tlsParameters(t, policy, tcp.tls));
    if (errs.length) {
      // The listener stays, with nowhere to send connections.
      delete tcp.routes;
      return errs;
    }
    assign(tcp, { tcpKeepalive: keepalive, connection, proxyProtocol, timeout });
  }
  return errs;
}

class SettingError extends Error {}

/** Sets each value that is defined; leaves the others as they are. */
function assign<T extends object>(target: T, values: Partial<T>): void {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) (target as Record<string, unknown>)[k] = v;
}

function duration(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const d = parseDuration(v);
  if (d === undefined) throw new SettingError(`invalid ${what} value ${String(v)}`);
  return formatDuration(d);
}

function seconds(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const d = parseDuration(v);
  if (d === undefined) throw new SettingError(`invalid ${what} value ${String(v)}`);
  return Math.floor(d / 1000);
}

function tcpKeepalive(k: Field<'tcpKeepalive'>): ir.TCPKeepalive | undefined {
  if (!k) return undefined;
  const out: ir.TCPKeepalive = {};
  if (k.probes !== undefined && k.probes !== null) out.probes = k.probes;
  const idle = seconds(k.idleTime, 'IdleTime');
  if (idle !== undefined) out.idleTime = idle;
  const interval = seconds(k.interval, 'Interval');
  if (interval !== undefined) out.interval = interval;
  return out;
}

function clientConnection(c: Field<'connection'>): ir.ClientConnection | undefined {
  if (!c) return undefined;
  const out: ir.ClientConnection = {};
  const cl = c.connectionLimit;
  if (cl) {
    const limit: NonNullable<ir.ClientConnection['limit']> = {};
    if (cl.value !== undefined && cl.value !== null) limit.value = cl.value;
    assign(limit, {
      closeDelay: duration(cl.closeDelay, 'CloseDelay'),
      maxConnectionDuration: duration(cl.maxConnectionDuration, 'MaxConnectionDuration'),
      maxRequestsPerConnection: cl.maxRequestsPerConnection ?? undefined,
      maxStreamDuration: duration(cl.maxStreamDuration, 'MaxStreamDuration'),
    });
    out.limit = limit;
  }
  if (c.bufferLimit !== undefined && c.bufferLimit !== null) out.bufferLimit = bytes(c.bufferLimit, 'BufferLimit');
  if (c.socketBufferLimit !== undefined && c.socketBufferLimit !== null) out.socketBufferLimit = bytes(c.socketBufferLimit, 'SocketBufferLimit');
  if (c.maxAcceptPerSocketEvent !== undefined && c.maxAcceptPerSocketEvent !== null) out.maxAcceptPerSocketEvent = c.maxAcceptPerSocketEvent;
  return out;
}

function bytes(q: unknown, what: string): number {
  const n = wholeQuantity(q);
  if (n === undefined) throw new SettingError(`invalid ${what} value ${String(q)}`);
  if (n < 0 || n > maxUint32) throw new SettingError(`${what} value ${String(q)} is out of range, must be between 0 and ${maxUint32}`);
  return n;
}

function clientTimeout(to: Field<'timeout'>): ir.ClientTimeout | undefined {
  if (!to) return undefined;
  const out: ir.ClientTimeout = {};
  if (to.tcp) {
    const tcp: NonNullable<ir.ClientTimeout['tcp']> = {};
    assign(tcp, {
      idleTimeout: duration(to.tcp.idleTimeout, 'TCP IdleTimeout'),
      connectionInspectionTimeout: duration(to.tcp.connectionInspectionTimeout, 'TCP ConnectionInspectionTimeout'),
      tlsHandshakeTimeout: duration(to.tcp.tlsHandshakeTimeout, 'TCP TLSHandshakeTimeout'),
    });
    out.tcp = tcp;
  }
  if (to.http) {
    const h: NonNullable<ir.ClientTimeout['http']> = {};
    assign(h, {
      requestReceivedTimeout: duration(to.http.requestReceivedTimeout, 'HTTP RequestReceivedTimeout'),
      requestHeadersReceivedTimeout: duration(to.http.requestHeadersReceivedTimeout, 'HTTP RequestHeadersReceivedTimeout'),
      idleTimeout: duration(to.http.idleTimeout, 'HTTP IdleTimeout'),
      streamIdleTimeout: duration(to.http.streamIdleTimeout, 'HTTP StreamIdleTimeout'),
    });
    out.http = h;
  }
  return out;
}

// ---- headers ----------------------------------------------------------------------------------

const headerValue = /^[!-~]+([\t ]?[!-~]+)*$/;
const KiB = 1024;

/** Sets the listener's header settings; problems in the header lists are thrown after. */
function headerSettings(h: Field<'headers'>, http: ir.HTTPListener): void {
  if (!h) return;
  const out: ir.HeaderSettings = {
    enableEnvoyHeaders: !!h.enableEnvoyHeaders,
    disableRateLimitHeaders: !!h.disableRateLimitHeaders,
    withUnderscoresAction: h.withUnderscoresAction ?? 'RejectRequest',
  };
  if (h.requestID) out.requestID = h.requestID;
  else if (h.preserveXRequestID) out.requestID = 'PreserveOrGenerate';
  if (h.xForwardedClientCert) {
    const mode = h.xForwardedClientCert.mode ?? 'Sanitize';
    out.xForwardedClientCert = { mode };
    if ((mode === 'AppendForward' || mode === 'SanitizeSet') && h.xForwardedClientCert.certDetailsToAdd) {
      out.xForwardedClientCert.certDetailsToAdd = [...h.xForwardedClientCert.certDetailsToAdd];
    }
  }
  if (h.host?.stripTrailingHostDot) http.host = { stripTrailingHostDot: true };
  http.headers = out;

  const problems: string[] = [];
  if (h.maxRequestHeaderLimit !== undefined && h.maxRequestHeaderLimit !== null) {
    const n = parseQuantity(h.maxRequestHeaderLimit);
    if (n === undefined || !Number.isInteger(n)) problems.push(`invalid MaxRequestHeaderLimit value ${h.maxRequestHeaderLimit}`);
    else if (n < KiB) problems.push(`MaxRequestHeaderLimit value ${h.maxRequestHeaderLimit} must be at least 1Ki`);
    else if (n > 8192 * KiB) problems.push(`MaxRequestHeaderLimit value ${h.maxRequestHeaderLimit} exceeds the maximum of 8192Ki`);
    else out.maxRequestHeadersKB = Math.floor(n / KiB);
  }
  if (h.earlyRequestHeaders) {
    const r = edgeHeaders(h.earlyRequestHeaders, 'EarlyRequestHeaders', problems);
    if (r.add.length) out.earlyAddRequestHeaders = r.add;
    if (r.remove.length) out.earlyRemoveRequestHeaders = r.remove;
  }
  if (h.lateResponseHeaders) {
    const r = edgeHeaders(h.lateResponseHeaders, 'LateResponseHeaders', problems);
    if (r.add.length) out.lateAddResponseHeaders = r.add;
    if (r.remove.length) out.lateRemoveResponseHeaders = r.remove;
  }
  if (problems.length) throw new SettingError(problems.join('\n'));
}

type EdgeHeaders = NonNullable<NonNullable<Field<'headers'>>['earlyRequestHeaders']>;

function edgeHeaders(f: EdgeHeaders, what: string, problems: string[]): { add: ir.AddHeader[]; remove: string[] } {
  const add: ir.AddHeader[] = [];
  const remove: string[] = [];
  let given = false;
  const before = problems.length;
  const addList = (list: readonly { name?: string; value?: string }[] | undefined, verb: string, fields: { append: boolean; addIfAbsent?: boolean }) => {
    for (const h of list ?? []) {
      given = true;
      const name: string = h.name ?? '';
      if (!name) problems.push(`${what} cannot ${verb} a header with an empty name`);
      else if (name.includes('/') || name.includes(':')) problems.push(`${what} cannot ${verb} a header with a '/' or ':' character in them. Header: '"${name}"'`);
      else if (!headerValue.test(h.value ?? '') && (h.value ?? '') !== '') problems.push(`${what} cannot ${verb} a header with an invalid value. Header: '"${name}"'`);
      else if (!add.some((a) => a.name.toLowerCase() === name.toLowerCase())) add.push({ name, value: [h.value ?? ''], ...fields });
    }
  };
  addList(f.add, 'add', { append: true });
  addList(f.set, 'set', { append: false });
  addList(f.addIfAbsent, 'addIfAbsent', { append: false, addIfAbsent: true });
  for (const name of f.remove ?? []) {
    given = true;
    if (!name) problems.push(`${what} cannot remove a header with an empty name`);
    else if (!remove.some((r) => r.toLowerCase() === name.toLowerCase())) remove.push(name);
  }
  if (given && add.length === 0 && remove.length === 0 && problems.length > before) {
    problems.push(`${what} did not provide valid configuration to add/set/remove any headers`);
  }
  return { add, remove };
}

// ---- HTTP/1 and HTTP/2 ------------------------------------------------------------------------

function http1Settings(h: Field<'http1'>, http: ir.HTTPListener): ir.HTTP1Settings | undefined {
  if (!h) return undefined;
  const out: ir.HTTP1Settings = { enableTrailers: !!h.enableTrailers, preserveHeaderCase: !!h.preserveHeaderCase };
  if (h.disableSafeMaxConnectionDuration) out.disableSafeMaxConnectionDuration = true;
  if (h.ignoredUpgradeTypes?.length) out.ignoredUpgradeTypes = h.ignoredUpgradeTypes.map((m) => stringMatch(m.type, m.value));
  if (h.http10) {
    let defaultHost: string | undefined;
    if (h.http10.useDefaultHost) {
      // The listener's first exact hostname, else the one exact hostname of its routes.
      defaultHost = http.hostnames?.find((n) => !n.includes('*'));
      if (defaultHost === undefined) {
        const hosts = (http.routes ?? []).map((r) => r.hostname).filter((n) => n && !n.includes('*'));
        if (hosts.length === 0) throw new SettingError('cannot set http10 default host on listener with only wildcard hostnames');
        if (hosts.length > 1) throw new SettingError('cannot set http10 default host on listener with only wildcard hostnames and more than one possible default route');
        defaultHost = hosts[0];
      }
    }
    out.http10 = defaultHost !== undefined ? { defaultHost } : {};
  }
  return out;
}

const minWindow = 65535;
const maxWindow = 2147483647;

function http2Settings(h: Field<'http2'>): ir.HTTP2Settings | undefined {
  if (!h) return undefined;
  const out: ir.HTTP2Settings = {};
  const problems: string[] = [];
  const window = (v: unknown, what: string, irField: 'initialConnectionWindowSize' | 'initialStreamWindowSize') => {
    if (v === undefined || v === null) return;
    const n = wholeQuantity(v);
    if (n === undefined) problems.push(`invalid ${what} value ${String(v)}`);
    else if (n < minWindow || n > maxWindow) problems.push(`${what} value ${String(v)} is out of range, must be between ${minWindow} and ${maxWindow}`);
    else out[irField] = n;
  };
  // The IR carries the two window sizes crosswise, as Envoy Gateway does.
  window(h.initialStreamWindowSize, 'InitialStreamWindowSize', 'initialConnectionWindowSize');
  window(h.initialConnectionWindowSize, 'InitialConnectionWindowSize', 'initialStreamWindowSize');
  if (h.maxConcurrentStreams !== undefined && h.maxConcurrentStreams !== null) out.maxConcurrentStreams = h.maxConcurrentStreams;
  if (h.onInvalidMessage) out.resetStreamOnError = h.onInvalidMessage === 'TerminateStream';
  if (h.connectionKeepalive) {
    const k = h.connectionKeepalive;
    const ka: NonNullable<ir.HTTP2Settings['connectionKeepalive']> = {};
    try {
      assign(ka, {
        interval: duration(k.interval, 'ConnectionKeepalive Interval'),
        timeout: duration(k.timeout, 'ConnectionKeepalive Timeout'),
        idleInterval: duration(k.idleInterval, 'ConnectionKeepalive IdleInterval'),
        intervalJitter: k.intervalJitter ?? undefined,
      });
    } catch (e) {
      problems.push((e as Error).message);
    }
    out.connectionKeepalive = ka;
  }
  if (problems.length) throw new SettingError(problems.join('\n'));
  return out;
}

/** An IR string match from a Gateway API-style (type, value) pair. */
export function stringMatch(type: string | undefined, value: string, name?: string): ir.StringMatch {
  const out: ir.StringMatch = name !== undefined ? { name } : {};
  switch (type) {
    case 'Prefix':
      out.prefix = value;
      break;
    case 'Suffix':
      out.suffix = value;
      break;
    case 'RegularExpression':
      out.safeRegex = value;
      break;
    default:
      out.exact = value;
  }
  return out;
}

// ---- TLS --------------------------------------------------------------------------------------

/** Edits a TLS listener's IR TLS settings in place (nothing to do for a listener without TLS). */
function tlsParameters(t: Translation, policy: ClientTrafficPolicy, tls: ir.TLSConfig | undefined): void {
  if (!tls) return;
  // TLS versions are pinned whether or not the policy says anything about them.
  tls.minVersion = '1.2';
  tls.maxVersion = '1.3';
  const p = policy.spec?.tls;
  if (!p) return;
  if (p.alpnProtocols) tls.alpnProtocols = [...p.alpnProtocols];
  if (p.minVersion) tls.minVersion = p.minVersion;
  if (p.maxVersion) tls.maxVersion = p.maxVersion;
  if (p.ciphers?.length) {
    const bad = p.ciphers.find((c) => !validCipher(c));
    if (bad !== undefined) throw new SettingError(`unsupported cipher suite: ${bad}`);
    tls.ciphers = [...p.ciphers];
  }
  if (p.ecdhCurves?.length) tls.ecdhCurves = [...p.ecdhCurves];
  if (p.signatureAlgorithms?.length) tls.signatureAlgorithms = [...p.signatureAlgorithms];
  if (p.fingerprints?.length) tls.fingerprints = [...p.fingerprints];
  if (p.session?.resumption?.stateless) tls.statelessSessionResumption = true;
  if (p.session?.resumption?.stateful) tls.statefulSessionResumption = true;

  const cv = p.clientValidation;
  if (!cv) return;
  const mode: string = cv.mode ?? (cv.optional ? 'VerifyIfGiven' : 'Require');
  tls.clientValidationEnabled = true;
  if (mode === 'Require' || mode === 'RequireAny') tls.requireClientCertificate = true;
  if (mode === 'Request' || mode === 'RequireAny') tls.acceptUntrusted = true;
  if (cv.allowExpiredCertificate) tls.allowExpiredCertificate = true;
  const sans = cv.subjectAltNames;
  if (sans) {
    const m: ir.StringMatch[] = [];
    for (const s of sans.dnsNames ?? []) m.push(stringMatch(s.type, s.value, 'DNS'));
    for (const s of sans.emailAddresses ?? []) m.push(stringMatch(s.type, s.value, 'EMAIL'));
    for (const s of sans.ipAddresses ?? []) m.push(stringMatch(s.type, s.value, 'IP_ADDRESS'));
    for (const s of sans.uris ?? []) m.push(stringMatch(s.type, s.value, 'URI'));
    for (const s of sans.otherNames ?? []) m.push(stringMatch(s.type, s.value, s.oid));
    if (m.length) tls.matchTypedSubjectAltNames = m;
  }
  if (cv.spkiHashes?.length) tls.verifyCertificateSpki = [...cv.spkiHashes];
  if (cv.certificateHashes?.length) tls.verifyCertificateHash = [...cv.certificateHashes];

  const refs = cv.caCertificateRefs ?? [];
  if (refs.length === 0) {
    if (mode === 'VerifyIfGiven' && !cv.mode) throw new SettingError('tls.clientValidation.optional=true requires caCertificateRefs (maps to mode "VerifyIfGiven")');
    if (mode === 'VerifyIfGiven' || mode === 'Require') throw new SettingError(`tls.clientValidation.mode "${mode}" requires caCertificateRefs`);
    return;
  }
  const ca = clientCACertificate(t, policy, refs);
  if ('error' in ca) throw new SettingError(ca.error);
  tls.caCertificate = ca.caCertificate;
  if (cv.crl) {
    const crl = clientCRL(t, policy, cv.crl);
    if ('error' in crl) throw new SettingError(crl.error);
    tls.crl = crl.crl;
  }
}
