// The rate limit service on the wire: envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit
// over gRPC (plain, TLS, or mTLS with client certificates checked against a CA, as Envoy
// Gateway's proxies reach their rate limit service), messages encoded with Envoy's protos.
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { fromBinary, toBinary } from '../xds/proto/index.js';
import type { RateLimiter, RateLimitRequest, RateLimitResponse } from './limiter.js';

const REQUEST = 'envoy.service.ratelimit.v3.RateLimitRequest';
const RESPONSE = 'envoy.service.ratelimit.v3.RateLimitResponse';

export const RateLimitService: ServiceDefinition = {
  ShouldRateLimit: {
    path: '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit',
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: unknown) => Buffer.from(toBinary(REQUEST, v)),
    requestDeserialize: (b: Buffer) => fromBinary(REQUEST, b),
    responseSerialize: (v: unknown) => Buffer.from(toBinary(RESPONSE, v)),
    responseDeserialize: (b: Buffer) => fromBinary(RESPONSE, b),
  },
};

export interface ServiceTls {
  certFile: string;
  keyFile: string;
  /** Clients must present a certificate this CA signed. */
  caFile?: string;
}

export class RateLimitServer {
  private readonly grpc = new Server();

  constructor(private readonly limiter: RateLimiter, private readonly onError: (message: string) => void = () => {}) {
    this.grpc.addService(RateLimitService, {
      ShouldRateLimit: (call: ServerUnaryCall<RateLimitRequest, RateLimitResponse>, done: sendUnaryData<RateLimitResponse>) => {
        this.limiter.shouldRateLimit(call.request).then(
          (r) => done(null, r),
          (err: Error) => { this.onError(`ShouldRateLimit: ${err.message}`); done({ code: status.UNAVAILABLE, details: err.message }); },
        );
      },
    });
  }

  /** Listens on host:port (port 0: any); resolves with the bound port. */
  listen(address: string, tls?: ServiceTls): Promise<number> {
    let creds = ServerCredentials.createInsecure();
    if (tls) {
      const ca = tls.caFile ? readFileSync(tls.caFile) : null;
      creds = ServerCredentials.createSsl(ca, [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }], ca !== null);
    }
    return new Promise((resolve, reject) => this.grpc.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port))));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.grpc.tryShutdown(() => resolve()));
  }
}
