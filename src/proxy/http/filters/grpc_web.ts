// envoy.filters.http.grpc_web: lets gRPC-Web clients (browsers) talk to gRPC backends. Requests
// with a grpc-web content type become gRPC (the -text variant is base64-decoded); responses get
// the grpc-web content type back and their trailers are sent as a final length-prefixed frame
// with flag 0x80 (base64-encoded again for -text). Other requests pass through untouched.
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, removeHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

interface State { text: boolean; contentType: string; decodeRest: string; encodeRest: Buffer | undefined }

class GrpcWebFilter implements HttpFilter {
  constructor(readonly name: string) {}

  private state(s: HttpStream): State | undefined {
    return s.filterState?.get(this) as State | undefined;
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const ct = getHeader(s.headers, 'content-type') ?? '';
    if (!ct.startsWith('application/grpc-web')) return FilterStatus.Continue;
    const text = ct.startsWith('application/grpc-web-text');
    (s.filterState ??= new Map()).set(this, { text, contentType: ct, decodeRest: '', encodeRest: undefined } satisfies State);
    s.addDataFilter(this);
    setHeader(s.headers, 'content-type', 'application/grpc');
    setHeader(s.headers, 'te', 'trailers');
    // The body size changes when decoding base64; the upstream gets it streamed.
    if (text) { removeHeader(s.headers, 'content-length'); s.bodyLength = s.bodyLength === 0 ? 0 : -1; }
    return FilterStatus.Continue;
  }

  decodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer {
    const st = this.state(s);
    if (!st?.text) return chunk;
    // base64 decodes in groups of 4 characters: keep a partial group for the next chunk.
    const all = st.decodeRest + chunk.toString('latin1');
    const cut = end ? all.length : all.length - (all.length % 4);
    st.decodeRest = all.slice(cut);
    return Buffer.from(all.slice(0, cut), 'base64');
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    const st = this.state(s);
    if (!st) return;
    const ct = getHeader(headers, 'content-type');
    if (ct === undefined || ct.startsWith('application/grpc')) {
      setHeader(headers, 'content-type', st.text ? 'application/grpc-web-text+proto' : 'application/grpc-web+proto');
    }
    removeHeader(headers, 'content-length');
  }

  encodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer {
    const st = this.state(s);
    if (!st?.text) return chunk;
    const all = st.encodeRest ? Buffer.concat([st.encodeRest, chunk]) : chunk;
    const cut = end ? all.length : all.length - (all.length % 3);
    st.encodeRest = cut < all.length ? all.subarray(cut) : undefined;
    return Buffer.from(all.subarray(0, cut).toString('base64'), 'latin1');
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): Buffer | undefined {
    const st = this.state(s);
    if (!st) return undefined;
    let text = '';
    for (let i = 0; i < trailers.length; i += 2) text += `${trailers[i]}:${trailers[i + 1]}\r\n`;
    const payload = Buffer.from(text, 'latin1');
    const frame = Buffer.alloc(5 + payload.length);
    frame[0] = 0x80;
    frame.writeUInt32BE(payload.length, 1);
    payload.copy(frame, 5);
    if (!st.text) return frame;
    const all = st.encodeRest ? Buffer.concat([st.encodeRest, frame]) : frame;
    st.encodeRest = undefined;
    return Buffer.from(all.toString('base64'), 'latin1');
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.grpc_web.v3.GrpcWeb',
  create: (name) => new GrpcWebFilter(name),
});
