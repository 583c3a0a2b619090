// Access loggers, by typed-config type, for the HTTP connection manager, the TCP/UDP proxies and
// listeners. Implementations register themselves here (an unknown logger type is a NACK); an
// entry's filter is applied here, around whichever logger it has.
import { ConfigError } from '../config/errors.js';
import { anyType, at, obj, str, type Json } from '../config/json.js';
import type { FilterFactoryContext } from './filter.js';
import type { StreamInfo } from './stream_info.js';
import { compileAccessLogFilter } from './access_log_filter.js';

export interface AccessLogger {
  log(info: StreamInfo): void;
}

export type AccessLoggerFactory = (config: Json, path: string, ctx: FilterFactoryContext, filter: Json | undefined) => AccessLogger;

const factories = new Map<string, AccessLoggerFactory>();

export function registerAccessLogger(type: string, f: AccessLoggerFactory): void {
  factories.set(type, f);
}

export function compileAccessLogs(entries: Json[], path: string, ctx: FilterFactoryContext): AccessLogger[] {
  return entries.map((e, i) => {
    const p = at(path, i);
    const tc = obj(e, 'typedConfig', p);
    if (!tc) throw new ConfigError(at(p, 'typedConfig'), `access log ${str(e, 'name', p)} has no typed config`);
    const type = anyType(tc, at(p, 'typedConfig'));
    const f = factories.get(type);
    if (!f) throw new ConfigError(at(p, 'typedConfig'), `unsupported access logger ${type}`);
    const filter = obj(e, 'filter', p);
    const when = filter ? compileAccessLogFilter(filter, at(p, 'filter')) : undefined;
    const logger = f(tc, at(p, 'typedConfig'), ctx, undefined);
    return when ? { log: (info: StreamInfo) => { if (when(info)) logger.log(info); } } : logger;
  });
}
