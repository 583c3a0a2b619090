// How generated resources are named. Envoy Gateway's default scheme names Envoy listeners, route
// configurations and virtual hosts after the Gateway listener they come from; its v2 scheme
// (runtime flag XDSNameSchemeV2) names them after what Envoy sees (protocol and port), so that
// listeners sharing a port and renamed Gateway listeners keep stable xDS names.
import type { HTTPListener } from '../../ir/xds.js';
import { underscored } from './util.js';

export const xdsNameSchemeV2 = 'XDSNameSchemeV2';

/** The port clients connect to (the Service port), as the v2 names use it. */
function publicPort(l: { port: number; externalPort?: number }): number {
  return l.externalPort ?? l.port;
}

export class Names {
  constructor(readonly v2: boolean) {}

  /** An Envoy listener: the Gateway listener's name, or tcp-<port> / udp-<port>. */
  listener(l: { name: string; port: number; externalPort?: number }, protocol: 'tcp' | 'udp'): string {
    return this.v2 ? `${protocol}-${publicPort(l)}` : l.name;
  }

  /** The UDP (QUIC) listener that serves HTTP/3 next to an HTTP listener. */
  quicListener(l: HTTPListener): string {
    return this.v2 ? `udp-${publicPort(l)}` : `${l.name}-quic`;
  }

  /** The stat prefix of an HTTP connection manager. */
  httpStatPrefix(l: HTTPListener): string {
    return `${l.tls ? 'https' : 'http'}-${this.v2 ? publicPort(l) : l.port}`;
  }

  /**
   * The route configuration (and filter chain) of an HTTP listener. In the v2 scheme plain HTTP
   * listeners on one port share one, named http-<port>; TLS listeners keep their own.
   */
  routeConfig(l: HTTPListener): string {
    return this.v2 && !l.tls ? `http-${publicPort(l)}` : l.name;
  }

  virtualHost(l: HTTPListener, hostname: string): string {
    return this.v2 ? underscored(hostname) : `${l.name}/${underscored(hostname)}`;
  }
}
