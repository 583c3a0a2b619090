// Opening a connection to an upstream host: TCP or Unix socket, optionally TLS with the
// cluster's UpstreamTlsContext (SNI, CA validation, SAN matching, client certificate, ALPN).
import net from 'node:net';
import tls from 'node:tls';
import type { SecretStore } from '../tls/secrets.js';
import { resolveCert, resolveValidation } from '../tls/common.js';
import { verifyPeer } from '../tls/verify.js';
import type { ClusterSettings, TransportSocket } from './cluster_config.js';
import type { Host } from './host.js';

export interface ConnectOptions {
  cluster: ClusterSettings;
  host: Host;
  secrets: SecretStore;
  /** ALPN to offer when TLS (['h2'], ['http/1.1'], or both for auto). */
  alpn: string[] | undefined;
  /** The request's Host, for auto SNI. */
  authority: string | undefined;
  /** Another port than the host's (active health checks to health_check_config.port_value). */
  port?: number;
  /** Bytes to send before anything else, TLS included (the PROXY protocol header). */
  preamble?: Buffer;
}

export function transportFor(cluster: ClusterSettings, host: Host): TransportSocket {
  if (host.socketMatch && cluster.transportMatches.length) {
    for (const m of cluster.transportMatches) {
      if (Object.entries(m.match).every(([k, v]) => host.socketMatch![k] === v)) return m.transport;
    }
  }
  if (cluster.transportMatches.length && !host.socketMatch) {
    // An empty match selects endpoints without metadata.
    const empty = cluster.transportMatches.find((m) => Object.keys(m.match).length === 0);
    if (empty) return empty.transport;
  }
  return cluster.transport;
}

/** Connects; the socket emits 'connect' (plain) or 'secureConnect' (TLS) as usual. */
export function connectUpstream(o: ConnectOptions): net.Socket {
  const { host, cluster } = o;
  const transport = transportFor(cluster, host);
  const tcp: net.NetConnectOpts = host.pipe ? { path: host.pipe } : { host: host.address, port: o.port || host.port, noDelay: true };
  if (!transport.tls) {
    const s = net.connect(tcp);
    if (o.preamble) s.write(o.preamble);
    applyKeepalive(s, cluster);
    return s;
  }
  const t = transport.tls;
  const servername = t.autoHostSni || cluster.autoSni ? stripPort(o.authority ?? '') || t.sni : t.sni || undefined;
  const opts: tls.ConnectionOptions = { ...tcp, ALPNProtocols: o.alpn ?? (t.common.alpn.length ? t.common.alpn : undefined) };
  if (servername && !net.isIP(servername)) opts.servername = servername;
  const cert = t.common.certs[0] && resolveCert(t.common.certs[0], o.secrets);
  if (cert) { opts.cert = cert.certChain; opts.key = cert.privateKey; if (cert.password) opts.passphrase = cert.password; }
  const v = resolveValidation(t.common.validation, o.secrets);
  if (t.common.params.minVersion) opts.minVersion = t.common.params.minVersion;
  if (t.common.params.maxVersion) opts.maxVersion = t.common.params.maxVersion;
  if (t.common.params.ciphers) opts.ciphers = t.common.params.ciphers;
  if (t.common.params.ecdhCurve) opts.ecdhCurve = t.common.params.ecdhCurve;
  if (t.common.params.sigalgs) opts.sigalgs = t.common.params.sigalgs;
  if (v === null || (t.common.certs[0] && !cert)) {
    // A secret named over SDS is not there (yet): fail closed, as Envoy keeps the cluster warming.
    const s = new net.Socket();
    process.nextTick(() => s.destroy(new Error(`${v === null ? 'validation context' : 'client certificate'} secret not available`)));
    return s;
  }
  if (v) {
    if (v.trustedCa) opts.ca = v.trustedCa;
    opts.rejectUnauthorized = !v.acceptUntrusted && (v.trustedCa !== undefined || v.systemRootCerts);
    const sanNames = t.autoSniSanValidation || cluster.autoSanValidation ? [servername ?? ''] : undefined;
    opts.checkServerIdentity = (_name, peer) => verifyPeer(peer, v, sanNames) ?? undefined;
  } else {
    // No validation context: Envoy does not verify the upstream's certificate.
    opts.rejectUnauthorized = false;
    opts.checkServerIdentity = () => undefined;
  }
  let s: tls.TLSSocket;
  if (o.preamble) {
    // The preamble goes on the TCP connection ahead of the TLS handshake.
    const raw = net.connect(tcp);
    raw.write(o.preamble);
    applyKeepalive(raw, cluster);
    s = tls.connect({ ...opts, socket: raw });
  } else {
    s = tls.connect(opts);
    applyKeepalive(s, cluster);
  }
  return s;
}

function applyKeepalive(s: net.Socket, cluster: ClusterSettings): void {
  if (cluster.tcpKeepalive) s.setKeepAlive(true, (cluster.tcpKeepalive.timeS ?? 7200) * 1000);
}

function stripPort(h: string): string {
  const i = h.lastIndexOf(':');
  return i > 0 && h.indexOf(':') === i ? h.slice(0, i) : h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h;
}
