// The StreamInfo of a connection that carries no HTTP request (a TCP proxy connection, a UDP
// session, a connection a listener refused), for access logs: the request fields stay empty.
import type { DownstreamInfo, StreamInfo } from '../http/stream_info.js';

export class ConnectionInfo implements StreamInfo {
  protocol = '';
  startTime = Date.now();
  method = '';
  originalPath = '';
  requestHeaders = [];
  responseHeaders = undefined;
  responseTrailers = undefined;
  authority = '';
  routeName = '';
  clusterName = '';
  upstreamHost = '';
  responseCode = 0;
  responseFlags = '';
  responseCodeDetails = '';
  bytesReceived = 0;
  bytesSent = 0;
  requestId = '';
  constructor(readonly downstream: DownstreamInfo) {}
}
