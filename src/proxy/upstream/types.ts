// The contract between the router and connection pools: the router starts a stream with the
// request head and feeds it the body; the pool calls back with the response, or with a reset
// that says why (the router's retry conditions and response flags depend on the reason).
import type { HeaderList } from '../http/headers.js';

export type ResetReason =
  | 'connect-failure'
  | 'overflow'
  | 'connection-termination'
  | 'remote-reset'
  | 'refused-stream'
  | 'local-reset'
  | 'protocol-error'
  | 'connect-timeout';

export interface UpstreamRequestHead {
  method: string;
  path: string;
  authority: string;
  /** 'http' or 'https': the :scheme an HTTP/2 upstream gets. */
  scheme: string;
  headers: HeaderList;
  /** Body length when known (content-length), -1 when streamed (chunked), 0 for none. */
  bodyLength: number;
  /** The request asks to switch protocols (WebSocket and other HTTP/1.1 upgrades). */
  upgrade: string | undefined;
}

export interface UpstreamCallbacks {
  onUpstreamHeaders(status: number, headers: HeaderList, endStream: boolean): void;
  onUpstreamData(chunk: Buffer, endStream: boolean): void;
  onUpstreamTrailers(trailers: HeaderList): void;
  onUpstreamReset(reason: ResetReason, detail: string): void;
  /** The upstream accepted an upgrade (101): from now on bytes flow raw both ways. */
  onUpstreamUpgrade?(tunnel: Tunnel, head: Buffer): void;
  /** The upstream can take more request body after a write returned false. */
  onUpstreamWritable(): void;
  /** Called once a host is chosen and a connection bound, for logs and retries. */
  onUpstreamConnected?(): void;
}

/** Raw byte stream after an upgrade: a net.Socket or TLS socket, or an HTTP/2 stream. */
export interface Tunnel {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  on(event: 'data', cb: (chunk: Buffer) => void): unknown;
  on(event: 'end' | 'close' | 'drain', cb: () => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
}

export interface UpstreamStream {
  /** Returns false when the upstream is backed up; onUpstreamWritable follows. */
  sendData(chunk: Buffer, endStream: boolean): boolean;
  sendTrailers(trailers: HeaderList): void;
  /** Stop or resume reading the response (the client is backed up). */
  readDisable?(disable: boolean): void;
  /** Abandons the stream (timeout, downstream gone); the connection is not reused. */
  reset(): void;
}

export interface ConnPool {
  /** Starts a request; the returned stream accepts the body once headers were sent. */
  newStream(head: UpstreamRequestHead, endStream: boolean, cb: UpstreamCallbacks): UpstreamStream;
  /** Stop reusing connections and close idle ones (cluster or host removed). */
  drain(): void;
  readonly activeStreams: number;
}
