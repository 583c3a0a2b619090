// envoy.access_loggers.file (FileAccessLog): one line per request to a file, /dev/stdout or
// /dev/stderr, in a text or JSON format of Envoy's %-commands — Envoy Gateway's default access
// log. Text format writes `-` for an empty value; JSON writes null (or leaves the key out with
// omit_empty_values), and numbers as numbers. An access log filter is not implemented yet and is
// refused (NACK) rather than ignored.
import { createWriteStream, type WriteStream } from 'node:fs';
import { ConfigError } from '../../config/errors.js';
import { at, bool, field, obj, str, type Json } from '../../config/json.js';
import { registerAccessLogger, type AccessLogger } from '../access_log.js';
import { compileFormat } from '../header_mutation.js';
import { getJoined } from '../headers.js';
import type { StreamInfo } from '../stream_info.js';

type Value = (i: StreamInfo) => string | number | undefined;

/** Commands only access logs have (the rest are shared with header formatting). */
function logCommand(cmd: string, path: string): Value {
  const m = /^([A-Z_0-9]+)(?:\(([^)]*)\))?(?::(\d+))?$/.exec(cmd);
  const name = m?.[1];
  switch (name) {
    case 'RESPONSE_CODE': return (i) => i.responseCode;
    case 'RESPONSE_FLAGS': return (i) => i.responseFlags || undefined;
    case 'RESPONSE_CODE_DETAILS': return (i) => i.responseCodeDetails || undefined;
    case 'BYTES_RECEIVED': return (i) => i.bytesReceived;
    case 'BYTES_SENT': return (i) => i.bytesSent;
    case 'DURATION': return (i) => Date.now() - i.startTime;
    case 'UPSTREAM_HOST': return (i) => i.upstreamHost || undefined;
    case 'UPSTREAM_CLUSTER': return (i) => i.clusterName || undefined;
    // Not tracked by this proxy: empty, as Envoy logs them when unknown.
    case 'CONNECTION_TERMINATION_DETAILS':
    case 'UPSTREAM_TRANSPORT_FAILURE_REASON':
    case 'UPSTREAM_LOCAL_ADDRESS':
      return () => undefined;
    case 'RESP': {
      // Response headers are not kept for logging yet; the value is empty, as for a missing header.
      if (!m?.[2]) throw new ConfigError(path, '%RESP()% needs a header name');
      return () => undefined;
    }
    case 'REQ': {
      if (!m?.[2]) throw new ConfigError(path, '%REQ()% needs a header name');
      const [primary, alt] = m[2].split('?').map((s) => s.trim().toLowerCase());
      const one = (i: StreamInfo, h: string) => {
        if (h === ':authority' || h === 'host') return i.authority || undefined;
        if (h === ':path') return i.originalPath || undefined;
        if (h === ':method') return i.method || undefined;
        return getJoined(i.requestHeaders, h);
      };
      return (i) => one(i, primary!) ?? (alt ? one(i, alt) : undefined);
    }
  }
  const shared = compileFormat(`%${cmd}%`, path);
  return typeof shared === 'string' ? () => shared : (i) => shared(i) || undefined;
}

/** A format string: literals and commands. A single command keeps its type (for JSON). */
function compileValue(format: string, path: string): Value {
  const parts: (string | Value)[] = [];
  let lit = '';
  for (let i = 0; i < format.length; ) {
    const c = format[i]!;
    if (c !== '%') { lit += c; i++; continue; }
    if (format[i + 1] === '%') { lit += '%'; i += 2; continue; }
    const end = format.indexOf('%', i + 1);
    if (end < 0) throw new ConfigError(path, `unterminated %-command in ${JSON.stringify(format)}`);
    if (lit) { parts.push(lit); lit = ''; }
    parts.push(logCommand(format.slice(i + 1, end), path));
    i = end + 1;
  }
  if (lit) parts.push(lit);
  if (parts.length === 1 && typeof parts[0] !== 'string') return parts[0]!;
  return (info) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') out += p;
      else out += p(info) ?? '-';
    }
    return out;
  };
}

const streams = new Map<string, { write(s: string): unknown }>();

function sink(path: string): { write(s: string): unknown } {
  if (path === '/dev/stdout') return process.stdout;
  if (path === '/dev/stderr') return process.stderr;
  let s = streams.get(path);
  if (!s) {
    const w: WriteStream = createWriteStream(path, { flags: 'a' });
    w.on('error', (err) => console.error(`egts proxy: access log ${path}: ${err.message}`));
    streams.set(path, (s = w));
  }
  return s;
}

function compileFileAccessLog(config: Json, path: string, filter: Json | undefined): AccessLogger {
  if (filter) throw new ConfigError(at(path, 'filter'), 'access log filters are not supported yet');
  const file = str(config, 'path', path);
  if (!file) throw new ConfigError(at(path, 'path'), 'an access log file needs a path');
  const logFormat = obj(config, 'logFormat', path);
  const fp = logFormat ? at(path, 'logFormat') : path;
  const src = logFormat ?? config;
  const json = obj(src, 'jsonFormat', fp);
  const omitEmpty = logFormat ? bool(logFormat, 'omitEmptyValues', fp) : false;
  const out = sink(file);
  if (json) {
    const fields = Object.entries(json).map(([k, v]) => {
      if (typeof v !== 'string') throw new ConfigError(at(at(fp, 'jsonFormat'), k), 'only string format values are supported');
      return [k, compileValue(v, at(at(fp, 'jsonFormat'), k))] as const;
    });
    return {
      log(info) {
        const o: Record<string, unknown> = {};
        for (const [k, f] of fields) {
          const v = f(info);
          if (v === undefined || v === '') {
            if (!omitEmpty) o[k] = null;
          } else o[k] = v;
        }
        out.write(`${JSON.stringify(o)}\n`);
      },
    };
  }
  const textSource = logFormat ? obj(logFormat, 'textFormatSource', fp) : undefined;
  const text = textSource ? str(textSource, 'inlineString', at(fp, 'textFormatSource')) : (field(src, 'textFormat') as string | undefined) ?? (field(config, 'format') as string | undefined);
  const format = compileValue(text ?? '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n', fp);
  return {
    log(info) {
      const line = String(format(info) ?? '-');
      out.write(line.endsWith('\n') ? line : `${line}\n`);
    },
  };
}

registerAccessLogger('envoy.extensions.access_loggers.file.v3.FileAccessLog', (config, path, _ctx, filter) => compileFileAccessLog(config, path, filter));
