// A raw ADS client for conformance tests: a plain @grpc/grpc-js duplex stream on which the test
// writes discovery requests and reads responses one by one, nothing hidden.
import { type ChannelCredentials, type ClientDuplexStream, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { fromBinary, toBinary } from '../../../src/xds/proto/index.js';
import {
  DELTA_DISCOVERY_REQUEST, DELTA_DISCOVERY_RESPONSE, DISCOVERY_REQUEST, DISCOVERY_RESPONSE,
  type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse,
} from '../../../src/xds/server/messages.js';
import { AggregatedDiscoveryService } from '../../../src/xds/server/server.js';

const Client = makeGenericClientConstructor(AggregatedDiscoveryService, 'AggregatedDiscoveryService');

export class RawStream<Req, Res> {
  private readonly queue: Res[] = [];
  private waiters: Array<(r: Res | Error) => void> = [];
  ended: Error | undefined;

  constructor(private readonly stream: ClientDuplexStream<Buffer, Buffer>, private readonly reqType: string, resType: string) {
    stream.on('data', (b: Buffer) => {
      const res = fromBinary(resType, b) as Res;
      const w = this.waiters.shift();
      if (w) w(res);
      else this.queue.push(res);
    });
    const fail = (e: Error) => {
      this.ended = e;
      for (const w of this.waiters.splice(0)) w(e);
    };
    stream.on('error', fail);
    stream.on('end', () => fail(new Error('stream ended')));
  }

  send(req: Req): void {
    this.stream.write(Buffer.from(toBinary(this.reqType, req)));
  }

  /** The next response, or a rejection after `ms`. */
  next(ms = 2000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no response within ${ms} ms`));
      }, ms);
      const waiter = (r: Res | Error) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true when nothing arrives within `ms`. */
  async quiet(ms = 150): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.stream.cancel();
  }
}

export class RawAdsClient {
  private readonly client: InstanceType<typeof Client>;

  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure(), options: Record<string, string> = {}) {
    this.client = new Client(address, creds, options);
  }

  sotw(): RawStream<DiscoveryRequest, DiscoveryResponse> {
    const call = (this.client as unknown as Record<string, () => ClientDuplexStream<Buffer, Buffer>>)['StreamAggregatedResources']!.call(this.client);
    return new RawStream(call, DISCOVERY_REQUEST, DISCOVERY_RESPONSE);
  }

  delta(): RawStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
    const call = (this.client as unknown as Record<string, () => ClientDuplexStream<Buffer, Buffer>>)['DeltaAggregatedResources']!.call(this.client);
    return new RawStream(call, DELTA_DISCOVERY_REQUEST, DELTA_DISCOVERY_RESPONSE);
  }

  close(): void {
    this.client.close();
  }
}
