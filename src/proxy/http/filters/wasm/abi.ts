// Proxy-Wasm ABI 0.2.x: the numbers both sides agree on, and the wire format of header maps.

/** proxy_result_t */
export const enum WasmResult {
  Ok = 0, NotFound = 1, BadArgument = 2, SerializationFailure = 3, ParseFailure = 4, BadExpression = 5,
  InvalidMemoryAccess = 6, Empty = 7, CasMismatch = 8, ResultMismatch = 9, InternalFailure = 10,
  BrokenConnection = 11, Unimplemented = 12,
}

/** proxy_buffer_type_t */
export const enum BufferType {
  HttpRequestBody = 0, HttpResponseBody = 1, DownstreamData = 2, UpstreamData = 3, HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5, VmConfiguration = 6, PluginConfiguration = 7, CallData = 8,
}

/** proxy_map_type_t */
export const enum MapType {
  HttpRequestHeaders = 0, HttpRequestTrailers = 1, HttpResponseHeaders = 2, HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4, GrpcReceiveTrailingMetadata = 5, HttpCallResponseHeaders = 6, HttpCallResponseTrailers = 7,
}

/** proxy_stream_type_t (proxy_continue_stream, proxy_close_stream) */
export const enum StreamType { HttpRequest = 0, HttpResponse = 1, Downstream = 2, Upstream = 3 }

/** What proxy_on_*_headers return. */
export const enum HeadersAction { Continue = 0, StopIteration = 1, ContinueAndEndStream = 2, StopAllIterationAndBuffer = 3, StopAllIterationAndWatermark = 4 }

/** What proxy_on_*_body return. */
export const enum DataAction { Continue = 0, StopIterationAndBuffer = 1, StopIterationAndWatermark = 2, StopIterationNoBuffer = 3 }

/** proxy_metric_type_t */
export const enum MetricType { Counter = 0, Gauge = 1, Histogram = 2 }

/** The ABI versions this host speaks (the module exports a function named after its version). */
export const ABI_VERSIONS = ['proxy_abi_version_0_2_1', 'proxy_abi_version_0_2_0'] as const;

/**
 * A header map as the ABI serializes it: the number of pairs, each pair's key and value sizes
 * (u32 little-endian), then each key and value followed by a NUL.
 */
export function serializePairs(pairs: readonly string[]): Buffer {
  const n = pairs.length / 2;
  let size = 4 + n * 8;
  const bytes: Buffer[] = new Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) { bytes[i] = Buffer.from(pairs[i]!, 'latin1'); size += bytes[i]!.length + 1; }
  const out = Buffer.alloc(size);
  out.writeUInt32LE(n, 0);
  let o = 4;
  for (let i = 0; i < pairs.length; i++) { out.writeUInt32LE(bytes[i]!.length, o); o += 4; }
  for (let i = 0; i < pairs.length; i++) { bytes[i]!.copy(out, o); o += bytes[i]!.length + 1; }
  return out;
}

/** The inverse of serializePairs; undefined when the bytes are not a well-formed map. */
export function parsePairs(buf: Buffer): string[] | undefined {
  if (buf.length === 0) return [];
  if (buf.length < 4) return undefined;
  const n = buf.readUInt32LE(0);
  if (4 + n * 8 > buf.length) return undefined;
  const sizes: number[] = [];
  for (let i = 0; i < n * 2; i++) sizes.push(buf.readUInt32LE(4 + i * 4));
  const out: string[] = [];
  let o = 4 + n * 8;
  for (const size of sizes) {
    if (o + size > buf.length) return undefined;
    out.push(buf.toString('latin1', o, o + size));
    o += size + 1;
  }
  return out;
}
