// envoy.filters.http.buffer: the whole request body is received before the request goes on, up
// to max_request_bytes (more is refused with 413). A buffered request without a content-length
// gets one. The route's BufferPerRoute replaces the limit or turns buffering off.
import { ConfigError } from '../../config/errors.js';
import { at, bool, num, obj, type Json } from '../../config/json.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

interface BufferConfig { maxBytes: number }
interface PerRoute { disabled: boolean; config: BufferConfig | undefined }

function compileBuffer(c: Json, path: string): BufferConfig {
  const max = num(c, 'maxRequestBytes', path);
  if (max === undefined || max <= 0) throw new ConfigError(at(path, 'maxRequestBytes'), 'a positive byte count is required');
  return { maxBytes: max };
}

function compilePerRoute(c: Json, path: string): PerRoute {
  if (bool(c, 'disabled', path)) return { disabled: true, config: undefined };
  const b = obj(c, 'buffer', path);
  if (!b) throw new ConfigError(path, 'one of disabled or buffer is required');
  return { disabled: false, config: compileBuffer(b, at(path, 'buffer')) };
}

interface State { chunks: Buffer[]; size: number; max: number }

class BufferFilter implements HttpFilter {
  constructor(readonly name: string, private readonly config: BufferConfig) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const pr = s.perFilterConfig(this.name)?.config as PerRoute | undefined;
    if (pr?.disabled) return FilterStatus.Continue;
    if (s.headersOnly) return FilterStatus.Continue;
    const max = pr?.config?.maxBytes ?? this.config.maxBytes;
    (s.filterState ??= new Map()).set(this, { chunks: [], size: 0, max } satisfies State);
    s.addDataFilter(this);
    return FilterStatus.Stop;
  }

  decodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st) return chunk;
    st.size += chunk.length;
    if (st.size > st.max) {
      s.filterState!.delete(this);
      s.sendLocalReply(413, 'Payload Too Large', 'request_payload_too_large');
      return undefined;
    }
    if (chunk.length) st.chunks.push(chunk);
    if (end) this.release(s, st, undefined);
    return undefined;
  }

  decodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st) return FilterStatus.Continue;
    this.release(s, st, trailers);
    return FilterStatus.Stop;
  }

  /** The whole body is here: its length is known, the request goes on. */
  private release(s: HttpStream, st: State, trailers: HeaderList | undefined): void {
    s.filterState!.delete(this);
    if (getHeader(s.headers, 'content-length') === undefined && !trailers) {
      setHeader(s.headers, 'content-length', String(st.size));
      s.bodyLength = st.size;
    }
    const body = st.chunks.length === 1 ? st.chunks[0]! : Buffer.concat(st.chunks);
    s.injectDecodedData(this, body, !trailers);
    if (trailers) s.injectDecodedTrailers(this, trailers);
    s.continueDecoding();
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.buffer.v3.Buffer',
  create: (name, c, path) => new BufferFilter(name, compileBuffer(c, path)),
  perRoute: { 'envoy.extensions.filters.http.buffer.v3.BufferPerRoute': compilePerRoute },
});
