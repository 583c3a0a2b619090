// Gateway listeners: validation of each listener, conflicts between listeners sharing a port,
// their statuses, and the IR listeners (xDS and infra) of those that are ready.
import type { Secret } from '../api/core/index.js';
import type { RouteGroupKind as RequestedKind } from '../api/gatewayapi/index.js';
import type { MapEntry, ResourceMetadata } from '../ir/common.js';
import type { CoreListenerDetails, HTTPListener, SDSConfig, TCPListener, TLSCertificate, TLSConfig, Xds } from '../ir/xds.js';
import { GatewayGroup, type GatewayContext, type ListenerContext, type ProxyConfig, type RouteGroupKind } from './contexts.js';
import { selectorError } from './lookups.js';
import { validateListenerTLS } from './listenertls.js';
import { envoyIPFamily, preserveRouteOrder, requestIDAction, usesListenerPortAsContainerPort } from './envoyproxy.js';
import { processProxyObservability } from './observability.js';
import { Cond, Reason } from './status.js';
import type { Translation } from './translation.js';

const routeKindsFor: Record<string, string[]> = {
  HTTP: ['HTTPRoute', 'GRPCRoute'],
  HTTPS: ['HTTPRoute', 'GRPCRoute'],
  TCP: ['TCPRoute'],
  UDP: ['UDPRoute'],
};

const supportedProtocols = new Set(['HTTP', 'HTTPS', 'TLS', 'TCP', 'UDP']);

/** Per-listener facts computed during validation, keyed by listener. */
const specValid = new WeakMap<ListenerContext, boolean>();

export function processListeners(t: Translation): void {
  // Phase 1: each listener on its own.
  for (const g of t.accepted) {
    for (const l of g.listeners) specValid.set(l, validateListenerSpec(t, l));
  }
  // Phase 2: listeners that share a port. Invalid listeners take no part, so that they cannot
  // block valid ones.
  for (const g of t.accepted) {
    protocolConflicts(g.listeners);
    hostnameConflicts(g.listeners);
    layer4Conflicts(g.listeners, 'TCP');
    layer4Conflicts(g.listeners, 'UDP');
  }
  if (t.mergeGateways) {
    const all = t.accepted.flatMap((g) => g.listeners);
    protocolConflicts(all);
    mergedConflicts(all);
  }

  // Phase 3: statuses and IR.
  const foundPorts = new Map<string, Set<string>>();
  for (const g of t.accepted) {
    const key = t.irKey(g);
    const xds = t.xdsIR[key]!;
    const infra = t.infraIR[key]!;
    if (g.envoyProxy) infra.proxy.config = g.envoyProxy;
    processReadyListener(xds, g.envoyProxy);
    processProxyObservability(t, g, xds, infra);

    for (const l of g.listeners) {
      if (!finalizeListenerConditions(l)) continue;
      addIRListener(t, g, l, foundPorts);
    }
  }
  checkOverlappingTLS(t);
}

function validateListenerSpec(t: Translation, l: ListenerContext): boolean {
  let valid = true;
  switch (l.protocol) {
    case 'TLS': {
      const mode = l.tls?.mode;
      if (l.tls && mode === 'Passthrough') valid = allowedRoutes(l, ['TLSRoute']) && valid;
      else valid = allowedRoutes(l, ['TCPRoute', 'TLSRoute']) && valid;
      break;
    }
    case 'HTTP':
    case 'HTTPS':
    case 'TCP':
    case 'UDP':
      valid = allowedRoutes(l, routeKindsFor[l.protocol]!) && valid;
      break;
    default:
      l.setSupportedKinds([]);
      l.setCondition(Cond.Accepted, 'False', Reason.UnsupportedProtocol, `Protocol ${l.protocol} is not supported; use HTTP, HTTPS, TLS, TCP or UDP`);
      valid = false;
  }
  valid = allowedNamespaces(l) && valid;
  valid = validateListenerTLS(t, l) && valid;
  if ((l.protocol === 'UDP' || l.protocol === 'TCP') && l.hostname) {
    setInvalid(l, `A ${l.protocol} listener cannot have a hostname`);
    valid = false;
  }
  return valid;
}

/** Programmed=False with the generic reason (ListenerSets spell it ListenersNotValid). */
export function setInvalid(l: ListenerContext, message: string, reason: string = Reason.Invalid): void {
  l.setCondition(Cond.Programmed, 'False', listenerReason(l, reason), message);
}

/** The reason a listener condition carries: ListenerSet listeners say ListenersNotValid for Invalid. */
export function listenerReason(l: ListenerContext, reason: string): string {
  return l.listenerSet && reason === Reason.Invalid ? Reason.ListenersNotValid : reason;
}

function allowedRoutes(l: ListenerContext, kinds: string[]): boolean {
  const canSupport: RouteGroupKind[] = kinds.map((kind) => ({ group: GatewayGroup, kind }));
  const requested: RequestedKind[] = l.allowedRoutes?.kinds ?? [];
  if (requested.length === 0) {
    l.setSupportedKinds(canSupport);
    return true;
  }
  let valid = true;
  const supported: RouteGroupKind[] = [];
  const unsupported: RequestedKind[] = [];
  for (const k of requested) {
    if (k.group !== undefined && k.group !== null && k.group !== GatewayGroup) {
      l.setCondition(Cond.ResolvedRefs, 'False', Reason.InvalidRouteKinds, `Group ${k.group} is not supported; use ${GatewayGroup}`);
      valid = false;
      continue;
    }
    if (kinds.includes(k.kind)) supported.push(k);
    else unsupported.push(k);
  }
  for (const k of unsupported) {
    const allowed = supported.length ? supported.map((s) => s.kind) : kinds;
    l.setCondition(Cond.ResolvedRefs, 'False', Reason.InvalidRouteKinds, `${k.kind} is not supported; the listener takes ${allowed.join(', ')}`);
    valid = false;
  }
  l.setSupportedKinds(supported);
  return valid;
}

function allowedNamespaces(l: ListenerContext): boolean {
  const ns = l.allowedRoutes?.namespaces;
  if (ns?.from !== 'Selector') return true;
  if (!ns.selector) {
    setInvalid(l, 'allowedRoutes.namespaces.selector is required when allowedRoutes.namespaces.from is Selector');
    return false;
  }
  const err = selectorError(ns.selector);
  if (err) {
    setInvalid(l, `allowedRoutes.namespaces.selector is not valid: ${err}`);
    return false;
  }
  l.namespaceSelector = ns.selector;
  return true;
}

// ---- conflicts ---------------------------------------------------------------------------------

function protocolGroup(l: ListenerContext): string {
  // HTTPS and TLS listeners can share a port (SNI tells them apart).
  return l.protocol === 'HTTPS' || l.protocol === 'TLS' ? 'https/tls' : l.protocol;
}

/** The source a listener comes from: the Gateway itself, or one of its ListenerSets. */
function sourceOf(l: ListenerContext): object {
  return l.listenerSet ?? l.gateway;
}

function participates(l: ListenerContext): boolean {
  return specValid.get(l) === true && supportedProtocols.has(l.protocol);
}

function byPort(listeners: readonly ListenerContext[], filter: (l: ListenerContext) => boolean): Map<number, ListenerContext[]> {
  const m = new Map<number, ListenerContext[]>();
  for (const l of listeners) {
    if (!participates(l) || !filter(l)) continue;
    const list = m.get(l.port);
    if (list) list.push(l);
    else m.set(l.port, [l]);
  }
  return m;
}

/**
 * Conflicts are decided by precedence: the Gateway's own listeners first, then its ListenerSets
 * in order. The first source that uses a port (or a hostname on it) owns it; if that source is
 * itself inconsistent, every listener involved loses.
 */
function setConflicted(l: ListenerContext, reason: string, message: string): void {
  l.setCondition(Cond.Conflicted, 'True', reason, message);
  if (l.listenerSet) {
    l.setCondition(Cond.Accepted, 'False', reason, message);
    l.setCondition(Cond.Programmed, 'False', reason, message);
  }
}

function protocolConflicts(listeners: readonly ListenerContext[]): void {
  for (const onPort of byPort(listeners, (l) => l.protocol !== 'UDP').values()) {
    const groups = new Set(onPort.map(protocolGroup));
    if (groups.size <= 1) continue;
    const owner = sourceOf(onPort[0]!);
    const ownerGroups = new Set(onPort.filter((l) => sourceOf(l) === owner).map(protocolGroup));
    const winner = ownerGroups.size === 1 ? [...ownerGroups][0] : undefined;
    for (const l of onPort) {
      if (protocolGroup(l) !== winner) {
        setConflicted(l, Reason.ProtocolConflict, `Listeners on port ${l.port} must use compatible protocols`);
      }
    }
  }
}

function hostnameConflicts(listeners: readonly ListenerContext[]): void {
  const l7 = (l: ListenerContext) => l.protocol === 'HTTP' || l.protocol === 'HTTPS' || l.protocol === 'TLS';
  for (const onPort of byPort(listeners, l7).values()) {
    const byHost = new Map<string, ListenerContext[]>();
    for (const l of onPort) {
      const h = l.hostname ?? '';
      const list = byHost.get(h);
      if (list) list.push(l);
      else byHost.set(h, [l]);
    }
    for (const same of byHost.values()) {
      if (same.length < 2) continue;
      const owner = sourceOf(same[0]!);
      const owned = same.filter((l) => sourceOf(l) === owner);
      const names = same.map(conflictName).sort().join(', ');
      for (const l of same) {
        if (owned.length === 1 && l === owned[0]) continue;
        setConflicted(l, Reason.HostnameConflict, `Listeners on port ${l.port} must use distinct hostnames; conflicting: ${names}`);
      }
    }
  }
}

function conflictName(l: ListenerContext): string {
  const src = l.listenerSet?.metadata ?? l.gateway.gateway.metadata;
  return `${src.namespace}/${src.name}/${l.name}`;
}

/** Two TCP (or UDP) listeners cannot share a port: the first keeps it. */
function layer4Conflicts(listeners: readonly ListenerContext[], protocol: string): void {
  for (const onPort of byPort(listeners, (l) => l.protocol === protocol).values()) {
    for (const l of onPort.slice(1)) {
      setConflicted(l, Reason.ProtocolConflict, `Only one ${protocol} listener is allowed on port ${l.port}`);
    }
  }
}

/** With merged Gateways, protocol, hostname and port must be unique across all of them. */
function mergedConflicts(listeners: readonly ListenerContext[]): void {
  const seen = new Set<string>();
  for (const l of listeners) {
    if (!participates(l)) continue;
    const k = `${l.protocol}:${l.hostname ?? ''}:${l.port}`;
    if (seen.has(k)) setConflicted(l, Reason.HostnameConflict, 'Protocol, hostname and port must be unique across merged Gateways');
    seen.add(k);
  }
}

// ---- statuses ----------------------------------------------------------------------------------

/** Completes a listener's conditions and says whether it is ready to be programmed. */
function finalizeListenerConditions(l: ListenerContext): boolean {
  const conds = l.conditions;
  if (conds.length === 0) {
    l.setCondition(Cond.Programmed, 'True', Reason.Programmed, 'The listener is sent to the data plane');
    l.setCondition(Cond.Accepted, 'True', Reason.Accepted, 'The listener is valid');
    l.setCondition(Cond.ResolvedRefs, 'True', Reason.ResolvedRefs, 'The listener references are resolved');
    if (l.listenerSet) l.setCondition(Cond.Conflicted, 'False', Reason.NoConflicts, 'The listener has no conflicts');
    return true;
  }
  if (conds.length === 1 && conds[0]!.type === Cond.ResolvedRefs) {
    const reason = conds[0]!.reason;
    if (reason === Reason.PartiallyInvalidCertificateRef) {
      // Programmed with the certificates that are valid.
      l.setCondition(Cond.Accepted, 'True', Reason.Accepted, 'The listener is valid');
      l.setCondition(Cond.Programmed, 'True', Reason.Programmed, 'The listener is sent to the data plane with its valid certificates');
      if (l.listenerSet) l.setCondition(Cond.Conflicted, 'False', Reason.NoConflicts, 'The listener has no conflicts');
      return true;
    }
    if (reason === Reason.InvalidCertificateRef) {
      l.setCondition(Cond.Accepted, 'True', Reason.Accepted, 'The listener is valid');
      setInvalid(l, 'The listener has no usable certificate');
      return false;
    }
  }
  if (!l.conditions.some((c) => c.type === Cond.Programmed)) setInvalid(l, 'The listener is not valid; see the other conditions');
  if (!l.conditions.some((c) => c.type === Cond.ResolvedRefs)) {
    l.setCondition(Cond.ResolvedRefs, 'True', Reason.ResolvedRefs, 'The listener references are resolved');
  }
  return false;
}

// ---- IR ----------------------------------------------------------------------------------------

function processReadyListener(xds: Xds, envoyProxy: ProxyConfig | undefined): void {
  const family = envoyProxy?.spec?.ipFamily ?? 'IPv4';
  xds.readyListener = {
    address: family === 'IPv6' || family === 'DualStack' ? '::' : '0.0.0.0',
    port: 19003,
    path: '/ready',
    ipFamily: family,
  };
}

function listenerMetadata(g: GatewayContext, l: ListenerContext): ResourceMetadata {
  const md: ResourceMetadata = {
    kind: g.gateway.kind ?? 'Gateway',
    name: g.name,
    namespace: g.namespace,
    sectionName: l.name,
  };
  const ann = egAnnotations(g.gateway.metadata.annotations);
  if (ann) md.annotations = ann;
  return md;
}

const egPrefix = 'gateway.envoyproxy.io/';

/** Annotations with Envoy Gateway's prefix, prefix removed, as IR key/value pairs (sorted). */
export function egAnnotations(annotations: Record<string, string> | undefined): MapEntry[] | undefined {
  if (!annotations) return undefined;
  const out: MapEntry[] = [];
  for (const [k, v] of Object.entries(annotations)) if (k.startsWith(egPrefix)) out.push({ key: k.slice(egPrefix.length), value: v });
  if (!out.length) return undefined;
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function containerPort(t: Translation, port: number, envoyProxy: ProxyConfig | undefined): number {
  if (t.settings.runningOnHost) return port;
  if (envoyProxy && usesListenerPortAsContainerPort(envoyProxy)) return port;
  // Privileged ports are shifted so that the proxy needs no CAP_NET_BIND_SERVICE.
  return port < 1024 ? port + 10000 : port;
}

const infraProtocol: Record<string, string> = { HTTP: 'HTTP', HTTPS: 'HTTPS', TLS: 'TLS', TCP: 'TCP', UDP: 'UDP' };
const l4Of = (p: string) => (p === 'UDP' ? 'UDP' : p === 'TCP' ? 'TCP/L4' : 'TCP/L7');

function addIRListener(t: Translation, g: GatewayContext, l: ListenerContext, foundPorts: Map<string, Set<string>>): void {
  const key = t.irKey(g);
  const xds = t.xdsIR[key]!;
  const family = envoyIPFamily(g.envoyProxy);
  const address = family === 'IPv6' || family === 'DualStack' ? '::' : '0.0.0.0';
  const port = containerPort(t, l.port, g.envoyProxy);
  const core: CoreListenerDetails = {
    name: l.irName,
    address,
    port,
    externalPort: l.port,
    metadata: listenerMetadata(g, l),
  };
  if (family) core.ipFamily = family;

  switch (l.protocol) {
    case 'HTTP':
    case 'HTTPS': {
      const ir: HTTPListener = {
        ...core,
        hostnames: [l.hostname ?? '*'],
        path: { mergeSlashes: true, escapedSlashesAction: 'UnescapeAndRedirect' },
        routes: [],
      };
      const tls = irTLSConfig(l);
      if (tls) ir.tls = tls;
      if (preserveRouteOrder(g.envoyProxy)) ir.preserveRouteOrder = true;
      // gRPC stats as the EnvoyProxy sets them (else turned on when a GRPCRoute attaches).
      const grpcStats = g.envoyProxy?.spec?.telemetry?.metrics?.enableGRPCStats;
      if (grpcStats !== undefined && grpcStats !== null) ir.grpc = { enableGRPCStats: !!grpcStats };
      const rid = requestIDAction(g.envoyProxy);
      if (rid) ir.requestID = rid;
      (xds.http ??= []).push(ir);
      l.httpIR = ir;
      break;
    }
    case 'TCP':
    case 'TLS': {
      const ir: TCPListener = { ...core, routes: [] };
      const tls = irTLSConfig(l);
      if (tls) {
        // TLS passthrough or terminate listeners of TCP routes do not negotiate ALPN.
        tls.alpnProtocols = [];
        ir.tls = tls;
      }
      (xds.tcp ??= []).push(ir);
      break;
    }
    case 'UDP':
      (xds.udp ??= []).push({ ...core });
      break;
  }

  // The infra IR has one port per (port, layer-4 protocol): HTTP and HTTPS on 443 share one.
  const found = foundPorts.get(key) ?? new Set<string>();
  foundPorts.set(key, found);
  const portKey = `${l.port}/${l4Of(l.protocol)}`;
  if (found.has(portKey)) return;
  found.add(portKey);
  const proto = infraProtocol[l.protocol]!;
  (t.infraIR[key]!.proxy.listeners ??= []).push({
    name: l.irName,
    ports: [{ name: `${proto.toLowerCase()}-${l.port}`, protocol: proto, servicePort: l.port, containerPort: port }],
  });
}

/** The TLS part of an IR listener: its certificates and, with frontend validation, the CA. */
export function irTLSConfig(l: ListenerContext): TLSConfig | undefined {
  const fv = l.frontendValidation;
  if (l.tlsSecrets.length === 0 && !fv) return undefined;
  const cfg: TLSConfig = { certificates: l.tlsSecrets.map(tlsCertificate) };
  if (fv && !fv.error) {
    cfg.caCertificate = fv.caCertificate;
    cfg.clientValidationEnabled = true;
    const mode = fv.mode;
    cfg.requireClientCertificate = mode === 'RequireAny' || mode === 'RequireAndVerify' || !mode;
    cfg.acceptUntrusted = mode === 'Request' || mode === 'RequireAny';
  }
  return cfg;
}

export function tlsCertificate(secret: Secret): TLSCertificate {
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  if (secret.type === 'gateway.envoyproxy.io/sds') {
    return { name, sds: sdsConfig(secret) };
  }
  const cert: TLSCertificate = {
    name,
    certificate: secret.data?.['tls.crt'],
    privateKey: secret.data?.['tls.key'],
  };
  const ocsp = secret.data?.['tls.ocsp-staple'];
  if (ocsp) cert.ocspStaple = ocsp;
  return cert;
}

function sdsConfig(secret: Secret): SDSConfig {
  const data = secret.data ?? {};
  const dec = (v: string | undefined) => (v ? Buffer.from(v, 'base64').toString('utf8') : '');
  const url = dec(data.url);
  const m = /^(unix|tcp|grpc):\/\/?(.*)$/.exec(url) ?? /^([a-z]+):\/\/(.*)$/.exec(url);
  return { scheme: m?.[1] ?? '', address: m?.[2] ?? url, secretName: dec(data.secretName) };
}

// ---- overlapping TLS configuration ------------------------------------------------------------

function checkOverlappingTLS(t: Translation): void {
  const groups = t.mergeGateways ? [t.accepted.flatMap((g) => g.listeners)] : t.accepted.map((g) => g.listeners);
  for (const listeners of groups) {
    const https = listeners.filter((l) => l.protocol === 'HTTPS' && l.ready);
    // Certificates served over SDS cannot be inspected: with several, overlaps cannot be ruled out.
    for (const l of https) {
      if (l.tlsSecrets.filter((s) => s.type === 'gateway.envoyproxy.io/sds').length < 2) continue;
      l.setCondition(Cond.OverlappingTLSConfig, 'True', 'SDSCertificateOpaque', 'The listener serves several SDS certificates, whose names cannot be checked for overlaps');
      if (l.httpIR) l.httpIR.tlsOverlaps = true;
    }
    // Hostnames first: when both overlap, the certificate reason is the one that stays.
    markOverlaps(https, (a, b) => overlappingHostnames(a.hostname, b.hostname), 'OverlappingHostnames', false);
    markOverlaps(https, (a, b) => a.certDNSNames.some((x) => b.certDNSNames.some((y) => overlappingHostnames(x, y))), 'OverlappingCertificates', true);
  }
}

function markOverlaps(ls: ListenerContext[], overlap: (a: ListenerContext, b: ListenerContext) => boolean, reason: string, flagIR: boolean): void {
  const marked = new Array<boolean>(ls.length).fill(false);
  for (let i = 0; i < ls.length; i++) {
    if (marked[i]) continue;
    for (let j = i + 1; j < ls.length; j++) {
      if (marked[j] || ls[i]!.port !== ls[j]!.port) continue;
      if (overlap(ls[i]!, ls[j]!)) marked[i] = marked[j] = true;
    }
  }
  ls.forEach((l, i) => {
    if (!marked[i]) return;
    l.setCondition(Cond.OverlappingTLSConfig, 'True', reason, 'Overlapping TLS configuration: HTTP/2 connection coalescing is avoided by defaulting ALPN to HTTP/1.1');
    // Shared certificates make clients coalesce HTTP/2 connections; the IR listener is told.
    if (flagIR && l.httpIR) l.httpIR.tlsOverlaps = true;
  });
}

function overlappingHostnames(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return hostnameCovers(a, b) || hostnameCovers(b, a);
}

function hostnameCovers(h: string, other: string): boolean {
  const wild = (s: string) => s.length > 1 && s[0] === '*';
  if (wild(other) && !wild(h)) {
    const suffix = other.slice(1);
    return h.endsWith(suffix) && !h.slice(0, h.length - suffix.length).includes('.');
  }
  return h === other;
}
