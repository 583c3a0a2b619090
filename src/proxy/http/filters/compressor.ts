// envoy.filters.http.compressor: compresses responses with the filter's library (gzip, brotli,
// and zstd where this Node.js has it) when the client accepts that encoding and the response
// qualifies: not already encoded, a compressible content type, at least min_content_length
// bytes when the length is known, no Cache-Control: no-transform, and a body at all. Several
// compressor filters on one connection manager agree on one encoding per response: the one the
// client prefers by q-value, ties going to choose_first filters, then to the first in the chain.
// Compression streams: every body chunk is flushed, so streamed responses keep flowing.
import zlib from 'node:zlib';
import { ConfigError } from '../../config/errors.js';
import { anyType, at, bool, dataSource, enumOf, field, list, num, numOr, obj, str, type Json } from '../../config/json.js';
import { counter, type Counter } from '../../stats.js';
import { FilterStatus, type FilterFactoryContext, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, getJoined, listsToken, removeHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

/** Envoy's default compressible media types. */
const DEFAULT_TYPES = ['text/html', 'text/plain', 'text/css', 'application/javascript', 'application/x-javascript', 'text/javascript', 'text/x-javascript',
  'text/ecmascript', 'text/js', 'text/jscript', 'text/x-js', 'application/ecmascript', 'application/x-json', 'application/xml', 'application/json',
  'image/svg+xml', 'text/xml', 'application/xhtml+xml'];

interface Library {
  encoding: string;
  create(): zlib.Gzip | zlib.BrotliCompress;
  flush: number;
}

const GZIP_LEVELS = ['DEFAULT_COMPRESSION', 'COMPRESSION_LEVEL_1', 'COMPRESSION_LEVEL_2', 'COMPRESSION_LEVEL_3', 'COMPRESSION_LEVEL_4', 'COMPRESSION_LEVEL_5',
  'COMPRESSION_LEVEL_6', 'COMPRESSION_LEVEL_7', 'COMPRESSION_LEVEL_8', 'COMPRESSION_LEVEL_9', 'BEST_SPEED', 'BEST_COMPRESSION'] as const;
const GZIP_STRATEGIES = ['DEFAULT_STRATEGY', 'FILTERED', 'HUFFMAN_ONLY', 'RLE', 'FIXED'] as const;

function gzipLevel(v: string): number {
  if (v === 'DEFAULT_COMPRESSION') return zlib.constants.Z_DEFAULT_COMPRESSION;
  if (v === 'BEST_SPEED') return 1;
  if (v === 'BEST_COMPRESSION') return 9;
  return Number(v.slice(-1));
}

function compileLibrary(lib: Json, path: string, ctx: FilterFactoryContext): Library {
  const tc = obj(lib, 'typedConfig', path);
  if (!tc) throw new ConfigError(at(path, 'typedConfig'), 'required');
  const tp = at(path, 'typedConfig');
  const type = anyType(tc, tp);
  switch (type) {
    case 'envoy.extensions.compression.gzip.compressor.v3.Gzip': {
      const level = field(tc, 'compressionLevel');
      const opts: zlib.ZlibOptions = {
        level: typeof level === 'number' ? (level === 0 ? zlib.constants.Z_DEFAULT_COMPRESSION : level) : gzipLevel(enumOf(tc, 'compressionLevel', tp, GZIP_LEVELS, 'DEFAULT_COMPRESSION')),
        memLevel: numOr(tc, 'memoryLevel', tp, 5),
        windowBits: numOr(tc, 'windowBits', tp, 12),
        strategy: GZIP_STRATEGIES.indexOf(enumOf(tc, 'compressionStrategy', tp, GZIP_STRATEGIES, 'DEFAULT_STRATEGY')),
        chunkSize: numOr(tc, 'chunkSize', tp, 4096),
      };
      if (opts.strategy === 4) opts.strategy = zlib.constants.Z_FIXED;
      return { encoding: 'gzip', create: () => zlib.createGzip(opts), flush: zlib.constants.Z_SYNC_FLUSH };
    }
    case 'envoy.extensions.compression.brotli.compressor.v3.Brotli': {
      const mode = enumOf(tc, 'encoderMode', tp, ['DEFAULT', 'GENERIC', 'TEXT', 'FONT'] as const, 'DEFAULT');
      const params: Record<number, number> = {
        [zlib.constants.BROTLI_PARAM_QUALITY]: numOr(tc, 'quality', tp, 3),
        [zlib.constants.BROTLI_PARAM_LGWIN]: numOr(tc, 'windowBits', tp, 18),
        [zlib.constants.BROTLI_PARAM_LGBLOCK]: numOr(tc, 'inputBlockBits', tp, 24),
        [zlib.constants.BROTLI_PARAM_MODE]: mode === 'TEXT' ? zlib.constants.BROTLI_MODE_TEXT : mode === 'FONT' ? zlib.constants.BROTLI_MODE_FONT : zlib.constants.BROTLI_MODE_GENERIC,
      };
      if (bool(tc, 'disableLiteralContextModeling', tp)) params[zlib.constants.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING] = 1;
      const chunkSize = numOr(tc, 'chunkSize', tp, 4096);
      return { encoding: 'br', create: () => zlib.createBrotliCompress({ params, chunkSize }), flush: zlib.constants.BROTLI_OPERATION_FLUSH };
    }
    case 'envoy.extensions.compression.zstd.compressor.v3.Zstd': {
      const z = zlib as unknown as { createZstdCompress?: (o: object) => zlib.Gzip; constants: Record<string, number> };
      if (!z.createZstdCompress) throw new ConfigError(tp, `zstd compression needs a Node.js with zlib zstd support (22.15 or later); this is ${process.version}`);
      if (dataSource(tc, 'dictionary', tp, ctx.readFile)?.length) throw new ConfigError(at(tp, 'dictionary'), 'zstd dictionaries are not supported');
      const params: Record<number, number> = {};
      const lvl = num(tc, 'compressionLevel', tp);
      if (lvl !== undefined && z.constants.ZSTD_c_compressionLevel !== undefined) params[z.constants.ZSTD_c_compressionLevel] = lvl;
      if (bool(tc, 'enableChecksum', tp) && z.constants.ZSTD_c_checksumFlag !== undefined) params[z.constants.ZSTD_c_checksumFlag] = 1;
      const create = z.createZstdCompress;
      return { encoding: 'zstd', create: () => create({ params }), flush: z.constants.ZSTD_e_flush ?? 1 };
    }
    default:
      throw new ConfigError(tp, `unsupported compressor library ${type}`);
  }
}

interface Direction { enabled: boolean; minLength: number; types: Set<string>; disableOnEtag: boolean; removeAcceptEncoding: boolean }

function compileDirection(c: Json | undefined, path: string, legacy: Json): Direction {
  const common = c ? obj(c, 'commonConfig', path) : undefined;
  const cp = at(path, 'commonConfig');
  const enabled = common ? obj(common, 'enabled', cp) : undefined;
  if (enabled && field(enabled, 'defaultValue') !== undefined && bool(enabled, 'defaultValue', at(cp, 'enabled')) === false) {
    return { enabled: false, minLength: 0, types: new Set(), disableOnEtag: false, removeAcceptEncoding: false };
  }
  const types = common ? list(common, 'contentType', cp) : list(legacy, 'contentType', '');
  return {
    enabled: true,
    minLength: common ? numOr(common, 'minContentLength', cp, 30) : numOr(legacy, 'contentLength', '', 30),
    types: new Set((types.length ? types : DEFAULT_TYPES).map((t: string) => String(t).toLowerCase())),
    disableOnEtag: c ? bool(c, 'disableOnEtagHeader', path) : bool(legacy, 'disableOnEtagHeader', ''),
    removeAcceptEncoding: c ? bool(c, 'removeAcceptEncodingHeader', path) : bool(legacy, 'removeAcceptEncodingHeader', ''),
  };
}

interface PerRoute { disabled: boolean; removeAcceptEncoding: boolean | undefined }

function compilePerRoute(c: Json, path: string): PerRoute {
  if (bool(c, 'disabled', path)) return { disabled: true, removeAcceptEncoding: undefined };
  const o = obj(c, 'overrides', path);
  const rd = o ? obj(o, 'responseDirectionConfig', at(path, 'overrides')) : undefined;
  const rae = rd ? field(rd, 'removeAcceptEncodingHeader') : undefined;
  return { disabled: false, removeAcceptEncoding: rae === undefined || rae === null ? undefined : bool(rd!, 'removeAcceptEncodingHeader', at(path, 'overrides.responseDirectionConfig')) };
}

/** The compressor filters of one request, in chain order, and the client's accept-encoding. */
interface Registry { accept: string | undefined; entries: { filter: CompressorFilter; encoding: string; chooseFirst: boolean }[]; chosen?: CompressorFilter | null }
const REGISTRY = new WeakMap<HttpStream, Registry>();

/** The q-value the client gives a coding (RFC 9110 §12.5.3), -1 when not mentioned. */
function qualities(accept: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of accept.split(',')) {
    const [token, ...params] = part.split(';').map((x) => x.trim());
    if (!token) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    out.set(token.toLowerCase(), Number.isFinite(q) ? q : 0);
  }
  return out;
}

function choose(reg: Registry): CompressorFilter | null {
  if (reg.chosen !== undefined) return reg.chosen;
  let best: Registry['entries'][number] | undefined;
  let bestQ = 0;
  if (reg.accept) {
    const q = qualities(reg.accept);
    const star = q.get('*');
    for (const e of reg.entries) {
      const v = q.get(e.encoding) ?? star ?? 0;
      if (v <= 0) continue;
      if (!best || v > bestQ || (v === bestQ && e.chooseFirst && !best.chooseFirst)) { best = e; bestQ = v; }
    }
    // The client may prefer no coding at all.
    const identity = q.get('identity');
    if (best && identity !== undefined && identity > bestQ) best = undefined;
  }
  reg.chosen = best?.filter ?? null;
  return reg.chosen;
}

interface State { z: zlib.Gzip | zlib.BrotliCompress; trailers?: HeaderList; ended: boolean }

class CompressorFilter implements HttpFilter {
  private readonly stats: { compressed: Counter; notCompressed: Counter; uncompressedBytes: Counter; compressedBytes: Counter };

  constructor(readonly name: string, private readonly lib: Library, private readonly response: Direction, private readonly chooseFirst: boolean) {
    const p = `compressor.${name}.${lib.encoding}.`;
    this.stats = { compressed: counter(`${p}compressed`), notCompressed: counter(`${p}not_compressed`), uncompressedBytes: counter(`${p}total_uncompressed_bytes`), compressedBytes: counter(`${p}total_compressed_bytes`) };
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const pr = s.perFilterConfig(this.name)?.config as PerRoute | undefined;
    if (pr?.disabled || !this.response.enabled) return FilterStatus.Continue;
    let reg = REGISTRY.get(s);
    if (!reg) REGISTRY.set(s, (reg = { accept: getJoined(s.headers, 'accept-encoding'), entries: [] }));
    reg.entries.push({ filter: this, encoding: this.lib.encoding, chooseFirst: this.chooseFirst });
    if (pr?.removeAcceptEncoding ?? this.response.removeAcceptEncoding) removeHeader(s.headers, 'accept-encoding');
    return FilterStatus.Continue;
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    const reg = REGISTRY.get(s);
    if (!reg || !reg.entries.some((e) => e.filter === this)) return;
    if (!this.compressible(s, headers)) { this.stats.notCompressed.value++; return; }
    if (choose(reg) !== this) { this.stats.notCompressed.value++; return; }
    this.stats.compressed.value++;
    removeHeader(headers, 'content-length');
    setHeader(headers, 'content-encoding', this.lib.encoding);
    const vary = getJoined(headers, 'vary');
    if (!vary) headers.push('vary', 'accept-encoding');
    else if (!listsToken(vary, 'accept-encoding')) setHeader(headers, 'vary', `${vary}, accept-encoding`);
    const etag = getHeader(headers, 'etag');
    if (etag && !etag.startsWith('W/')) setHeader(headers, 'etag', `W/${etag}`);
    const z = this.lib.create();
    const st: State = { z, ended: false };
    (s.filterState ??= new Map()).set(this, st);
    z.on('data', (out: Buffer) => { this.stats.compressedBytes.value += out.length; s.injectEncodedData(this, out, false); });
    z.on('end', () => {
      if (st.trailers) s.injectEncodedTrailers(this, st.trailers);
      else s.injectEncodedData(this, Buffer.alloc(0), true);
    });
    z.on('error', () => { s.injectEncodedData(this, Buffer.alloc(0), true); });
    s.addDataFilter(this);
    s.watchCompletion(this);
  }

  private compressible(s: HttpStream, headers: HeaderList): boolean {
    if (s.responseEnd || s.method === 'HEAD') return false;
    const status = s.responseCode;
    if (status < 200 || status === 204 || status === 304) return false;
    const ce = getHeader(headers, 'content-encoding');
    if (ce !== undefined && ce.trim().toLowerCase() !== 'identity') return false;
    const cc = getJoined(headers, 'cache-control');
    if (cc && listsToken(cc, 'no-transform')) return false;
    const ct = getHeader(headers, 'content-type');
    if (ct !== undefined) {
      const media = ct.split(';')[0]!.trim().toLowerCase();
      if (!this.response.types.has(media)) return false;
    }
    const cl = getHeader(headers, 'content-length');
    if (cl !== undefined && Number(cl) < this.response.minLength) return false;
    const etag = getHeader(headers, 'etag');
    if (etag && !etag.startsWith('W/') && this.response.disableOnEtag) return false;
    return true;
  }

  encodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st) return chunk;
    this.stats.uncompressedBytes.value += chunk.length;
    if (chunk.length) st.z.write(chunk);
    if (end) { st.ended = true; st.z.end(); } else if (chunk.length) st.z.flush(this.lib.flush);
    return undefined;
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st) return FilterStatus.Continue;
    st.trailers = trailers;
    st.ended = true;
    st.z.end();
    return FilterStatus.Stop;
  }

  onStreamComplete(s: HttpStream): void {
    const st = s.filterState?.get(this) as State | undefined;
    if (st && !st.ended) st.z.destroy();
    REGISTRY.delete(s);
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.compressor.v3.Compressor',
  create(name, c, path, ctx) {
    const lib = obj(c, 'compressorLibrary', path);
    if (!lib) throw new ConfigError(at(path, 'compressorLibrary'), 'required');
    const rq = obj(c, 'requestDirectionConfig', path);
    if (rq) {
      const d = compileDirection(rq, at(path, 'requestDirectionConfig'), {});
      if (d.enabled) throw new ConfigError(at(path, 'requestDirectionConfig'), 'request compression is not supported by this proxy');
    }
    void str;
    return new CompressorFilter(name, compileLibrary(lib, at(path, 'compressorLibrary'), ctx), compileDirection(obj(c, 'responseDirectionConfig', path), at(path, 'responseDirectionConfig'), c), bool(c, 'chooseFirst', path));
  },
  perRoute: { 'envoy.extensions.filters.http.compressor.v3.CompressorPerRoute': compilePerRoute },
});
