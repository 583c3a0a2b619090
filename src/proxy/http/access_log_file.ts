// envoy.access_loggers.file (FileAccessLog): one line per request to a file or /dev/stdout, in a
// text or JSON format (Envoy Gateway's default is JSON to /dev/stdout). Lines are buffered and
// written at the end of the event-loop turn, not per request.
import { createWriteStream, type WriteStream } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { at, field, obj, str, type Json } from '../config/json.js';
import { registerAccessLogger, type AccessLogger } from './access_log.js';
import { compileJson, compileText } from './formatter.js';
import type { StreamInfo } from './stream_info.js';

const DEFAULT_FORMAT = '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

interface Sink { buf: string[]; scheduled: boolean; out: { write(s: string): unknown } }
const sinks = new Map<string, Sink>();

function sink(path: string): Sink {
  let s = sinks.get(path);
  if (!s) {
    const out: { write(s: string): unknown } = path === '/dev/stdout' ? process.stdout : path === '/dev/stderr' ? process.stderr : (createWriteStream(path, { flags: 'a' }) as WriteStream);
    s = { buf: [], scheduled: false, out };
    sinks.set(path, s);
  }
  return s;
}

function flush(s: Sink): void {
  s.scheduled = false;
  const data = s.buf.join('');
  s.buf.length = 0;
  s.out.write(data);
}

registerAccessLogger('envoy.extensions.access_loggers.file.v3.FileAccessLog', (c: Json, path: string, _ctx, filter): AccessLogger => {
  if (filter) throw new ConfigError(at(path, 'filter'), 'access log filters are not supported yet');
  const file = str(c, 'path', path);
  if (!file) throw new ConfigError(at(path, 'path'), 'required');
  let render: (i: StreamInfo) => string;
  const lf = obj(c, 'logFormat', path);
  const jf = lf ? obj(lf, 'jsonFormat', at(path, 'logFormat')) : obj(c, 'jsonFormat', path);
  const tfs = lf ? obj(lf, 'textFormatSource', at(path, 'logFormat')) : undefined;
  const tf = lf ? field(lf, 'textFormat') : field(c, 'format');
  if (lf && (obj(lf, 'formatters', at(path, 'logFormat')) || field(lf, 'formatters')?.length)) {
    throw new ConfigError(at(path, 'logFormat.formatters'), 'format extensions are not supported yet');
  }
  if (jf) { const j = compileJson(jf, at(path, 'logFormat.jsonFormat')); render = (i) => `${JSON.stringify(j(i))}\n`; }
  else if (tfs) render = compileText(str(tfs, 'inlineString', at(path, 'logFormat.textFormatSource')), at(path, 'logFormat.textFormatSource'));
  else if (typeof tf === 'string') render = compileText(tf, at(path, 'logFormat.textFormat'));
  else render = compileText(DEFAULT_FORMAT, path);
  const s = sink(file);
  return {
    log(i) {
      s.buf.push(render(i));
      if (!s.scheduled) { s.scheduled = true; setImmediate(flush, s); }
    },
  };
});
