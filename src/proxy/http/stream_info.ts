// What is known about one HTTP stream while it is processed: the downstream connection, the
// request, the chosen route and upstream. Header formatters (%REQ(x)%, ...), access logs and
// stats read it; the codecs and the router fill it in.
import type { HeaderList } from './headers.js';

export interface DownstreamInfo {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** SNI the client sent, when the connection is TLS. */
  serverName: string;
  tls: boolean;
  /** PEM-less view of the client certificate when one was presented (mTLS). */
  peerCertificate?: { subject: string; uriSans: string[]; dnsSans: string[]; raw: Buffer };
}

export interface StreamInfo {
  downstream: DownstreamInfo;
  /** 'HTTP/1.0', 'HTTP/1.1' or 'HTTP/2'. */
  protocol: string;
  startTime: number;
  method: string;
  /** The original :path (before rewrites), with query. */
  originalPath: string;
  requestHeaders: HeaderList;
  /** The response headers as sent downstream (after mutations). */
  responseHeaders: HeaderList | undefined;
  /** Response trailers, when there were any. */
  responseTrailers: HeaderList | undefined;
  authority: string;
  routeName: string;
  clusterName: string;
  upstreamHost: string;
  responseCode: number;
  /** Envoy's response flags (UH, UF, URX, ...), for access logs. */
  responseFlags: string;
  /** Envoy's %RESPONSE_CODE_DETAILS%. */
  responseCodeDetails: string;
  bytesReceived: number;
  bytesSent: number;
  requestId: string;
}
