// envoy.filters.http.ext_proc configuration, compiled once per listener: the processor's gRPC
// service, the processing mode, message timeouts, header forwarding and mutation rules,
// attributes, metadata namespaces; and the per-route ExtProcPerRoute (disabled, or overrides that
// replace the mode, attributes, service and metadata options, and add gRPC initial metadata).
import { ConfigError } from '../../config/errors.js';
import { at, bool, durationMs, enumOf, field, list, obj, str, type Json } from '../../config/json.js';
import { compileRegex, type Regex } from '../../router/regex.js';
import { compileStringMatcher, type StringMatch } from '../../router/string_match.js';
import { compileGrpcService, type GrpcService } from '../grpc_client.js';
import { httpStatusCode } from './auth_common.js';
import { compileAttributes, type AttributeSet } from './ext_proc_attributes.js';

export type HeaderSendMode = 'SEND' | 'SKIP';
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL' | 'FULL_DUPLEX_STREAMED';

export interface ProcessingMode {
  requestHeaders: HeaderSendMode;
  responseHeaders: HeaderSendMode;
  requestBody: BodySendMode;
  responseBody: BodySendMode;
  requestTrailers: HeaderSendMode;
  responseTrailers: HeaderSendMode;
}

export interface MutationRules {
  allowAllRouting: boolean;
  allowEnvoy: boolean;
  disallowSystem: boolean;
  disallowAll: boolean;
  allowExpression: Regex | undefined;
  disallowExpression: Regex | undefined;
  disallowIsError: boolean;
}

export interface MetadataOptions {
  /** Dynamic metadata namespaces sent to the processor (untyped; this proxy keeps no typed metadata). */
  forwarding: string[];
  /** Namespaces the processor may write (untyped); empty: it may write none. */
  receiving: Set<string>;
}

export type RouteCacheAction = 'DEFAULT' | 'CLEAR' | 'RETAIN';

export interface ExtProcConfig {
  grpc: GrpcService;
  failureModeAllow: boolean;
  mode: ProcessingMode;
  requestAttributes: AttributeSet | undefined;
  responseAttributes: AttributeSet | undefined;
  messageTimeoutMs: number;
  /** 0: the processor may not extend a message's timeout. */
  maxMessageTimeoutMs: number;
  rules: MutationRules;
  allowedHeaders: StringMatch[] | undefined;
  disallowedHeaders: StringMatch[] | undefined;
  allowModeOverride: boolean;
  disableImmediateResponse: boolean;
  metadata: MetadataOptions;
  observabilityMode: boolean;
  deferredCloseMs: number;
  statusOnError: number;
  routeCacheAction: RouteCacheAction;
  statPrefix: string;
}

/** What a route's ExtProcPerRoute changes (undefined fields keep the filter's). */
export interface ExtProcPerRoute {
  disabled: boolean;
  mode?: ProcessingMode;
  requestAttributes?: AttributeSet | undefined;
  responseAttributes?: AttributeSet | undefined;
  grpc?: GrpcService;
  metadata?: MetadataOptions;
  initialMetadata?: string[];
}

const HEADER_MODES = ['DEFAULT', 'SEND', 'SKIP'] as const;
const BODY_MODES = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED'] as const;

/** The defaults Envoy applies: headers sent both ways, no bodies, no trailers. */
export const DEFAULT_MODE: ProcessingMode = {
  requestHeaders: 'SEND', responseHeaders: 'SEND', requestBody: 'NONE', responseBody: 'NONE', requestTrailers: 'SKIP', responseTrailers: 'SKIP',
};

function headerMode(c: Json, name: string, path: string, dflt: HeaderSendMode): HeaderSendMode {
  const m = enumOf(c, name, path, HEADER_MODES, 'DEFAULT');
  return m === 'DEFAULT' ? dflt : m;
}

/** A ProcessingMode message (config, per-route override, or a processor's mode_override). */
export function compileProcessingMode(c: Json | undefined, path: string): ProcessingMode {
  if (!c) return DEFAULT_MODE;
  const mode: ProcessingMode = {
    requestHeaders: headerMode(c, 'requestHeaderMode', path, 'SEND'),
    responseHeaders: headerMode(c, 'responseHeaderMode', path, 'SEND'),
    requestBody: enumOf(c, 'requestBodyMode', path, BODY_MODES, 'NONE'),
    responseBody: enumOf(c, 'responseBodyMode', path, BODY_MODES, 'NONE'),
    requestTrailers: headerMode(c, 'requestTrailerMode', path, 'SKIP'),
    responseTrailers: headerMode(c, 'responseTrailerMode', path, 'SKIP'),
  };
  // Envoy's rule: in full-duplex streaming the trailers must go to the processor too, since it
  // decides where the body ends.
  if (mode.requestBody === 'FULL_DUPLEX_STREAMED' && mode.requestTrailers !== 'SEND') {
    throw new ConfigError(at(path, 'requestTrailerMode'), 'FULL_DUPLEX_STREAMED request body mode requires request_trailer_mode SEND');
  }
  if (mode.responseBody === 'FULL_DUPLEX_STREAMED' && mode.responseTrailers !== 'SEND') {
    throw new ConfigError(at(path, 'responseTrailerMode'), 'FULL_DUPLEX_STREAMED response body mode requires response_trailer_mode SEND');
  }
  return mode;
}

function boolValue(c: Json, name: string): boolean {
  const v = field(c, name);
  return v === true || (typeof v === 'object' && v !== null && v.value === true);
}

function regexOf(c: Json, name: string, path: string): Regex | undefined {
  const m = obj(c, name, path);
  if (!m) return undefined;
  const p = at(path, name);
  const re = str(m, 'regex', p);
  if (!re) throw new ConfigError(at(p, 'regex'), 'required');
  return compileRegex(re, at(p, 'regex'));
}

function compileMutationRules(c: Json | undefined, path: string): MutationRules {
  if (!c) return { allowAllRouting: false, allowEnvoy: false, disallowSystem: false, disallowAll: false, allowExpression: undefined, disallowExpression: undefined, disallowIsError: false };
  return {
    allowAllRouting: boolValue(c, 'allowAllRouting'),
    allowEnvoy: boolValue(c, 'allowEnvoy'),
    disallowSystem: boolValue(c, 'disallowSystem'),
    disallowAll: boolValue(c, 'disallowAll'),
    allowExpression: regexOf(c, 'allowExpression', path),
    disallowExpression: regexOf(c, 'disallowExpression', path),
    disallowIsError: boolValue(c, 'disallowIsError'),
  };
}

function listMatcher(c: Json | undefined, path: string): StringMatch[] | undefined {
  if (!c) return undefined;
  return list(c, 'patterns', path).map((m: Json, i: number) => compileStringMatcher(m, at(at(path, 'patterns'), i)));
}

function namespaces(c: Json | undefined, name: string, path: string): string[] {
  const ns = c && obj(c, name, path);
  return ns ? list(ns, 'untyped', at(path, name)).map(String) : [];
}

function compileMetadataOptions(c: Json | undefined, path: string): MetadataOptions {
  return { forwarding: namespaces(c, 'forwardingNamespaces', path), receiving: new Set(namespaces(c, 'receivingNamespaces', path)) };
}

function timeout(c: Json, name: string, path: string, dflt: number): number {
  const ms = durationMs(c, name, path);
  if (ms === undefined) return dflt;
  if (ms < 0 || ms > 3_600_000) throw new ConfigError(at(path, name), 'must be between 0 and 1 hour');
  return ms;
}

/** Config fields of newer Envoys that change the protocol and that this proxy does not implement. */
const UNSUPPORTED = ['httpService', 'processingRequestModifier', 'onProcessingResponse', 'allowedOverrideModes', 'sendBodyWithoutWaitingForHeaderResponse'];

export function compileExtProc(c: Json, path: string): ExtProcConfig {
  for (const f of UNSUPPORTED) {
    if (field(c, f) !== undefined) throw new ConfigError(at(path, f), 'not supported by this proxy');
  }
  if (field(c, 'grpcService') === undefined) throw new ConfigError(at(path, 'grpcService'), 'required');
  const soe = obj(c, 'statusOnError', path);
  let statusOnError = 500;
  if (soe && field(soe, 'code') !== undefined) {
    const code = httpStatusCode(field(soe, 'code'));
    if (code === undefined) throw new ConfigError(at(path, 'statusOnError.code'), `unknown HTTP status ${JSON.stringify(field(soe, 'code'))}`);
    statusOnError = code;
  }
  const fr = obj(c, 'forwardRules', path);
  const frp = at(path, 'forwardRules');
  let routeCacheAction = enumOf(c, 'routeCacheAction', path, ['DEFAULT', 'CLEAR', 'RETAIN'] as const, 'DEFAULT');
  if (bool(c, 'disableClearRouteCache', path)) routeCacheAction = 'RETAIN';
  return {
    grpc: compileGrpcService(obj(c, 'grpcService', path), at(path, 'grpcService')),
    failureModeAllow: bool(c, 'failureModeAllow', path),
    mode: compileProcessingMode(obj(c, 'processingMode', path), at(path, 'processingMode')),
    requestAttributes: compileAttributes(list(c, 'requestAttributes', path).map(String), at(path, 'requestAttributes')),
    responseAttributes: compileAttributes(list(c, 'responseAttributes', path).map(String), at(path, 'responseAttributes')),
    messageTimeoutMs: timeout(c, 'messageTimeout', path, 200),
    maxMessageTimeoutMs: timeout(c, 'maxMessageTimeout', path, 0),
    rules: compileMutationRules(obj(c, 'mutationRules', path), at(path, 'mutationRules')),
    allowedHeaders: fr && listMatcher(obj(fr, 'allowedHeaders', frp), at(frp, 'allowedHeaders')),
    disallowedHeaders: fr && listMatcher(obj(fr, 'disallowedHeaders', frp), at(frp, 'disallowedHeaders')),
    allowModeOverride: bool(c, 'allowModeOverride', path),
    disableImmediateResponse: bool(c, 'disableImmediateResponse', path),
    metadata: compileMetadataOptions(obj(c, 'metadataOptions', path), at(path, 'metadataOptions')),
    observabilityMode: bool(c, 'observabilityMode', path),
    deferredCloseMs: timeout(c, 'deferredCloseTimeout', path, 5000),
    statusOnError,
    routeCacheAction,
    statPrefix: str(c, 'statPrefix', path),
  };
}

export function compileExtProcPerRoute(c: Json, path: string): ExtProcPerRoute {
  if (bool(c, 'disabled', path)) return { disabled: true };
  const o = obj(c, 'overrides', path);
  if (!o) throw new ConfigError(path, 'one of disabled or overrides is required');
  const op = at(path, 'overrides');
  if (bool(o, 'asyncMode', op)) throw new ConfigError(at(op, 'asyncMode'), 'async mode is not supported');
  const out: ExtProcPerRoute = { disabled: false };
  if (obj(o, 'processingMode', op)) out.mode = compileProcessingMode(obj(o, 'processingMode', op), at(op, 'processingMode'));
  if (field(o, 'requestAttributes') !== undefined) out.requestAttributes = compileAttributes(list(o, 'requestAttributes', op).map(String), at(op, 'requestAttributes'));
  if (field(o, 'responseAttributes') !== undefined) out.responseAttributes = compileAttributes(list(o, 'responseAttributes', op).map(String), at(op, 'responseAttributes'));
  if (obj(o, 'grpcService', op)) out.grpc = compileGrpcService(obj(o, 'grpcService', op), at(op, 'grpcService'));
  if (obj(o, 'metadataOptions', op)) out.metadata = compileMetadataOptions(obj(o, 'metadataOptions', op), at(op, 'metadataOptions'));
  const md = list(o, 'grpcInitialMetadata', op);
  if (md.length) {
    out.initialMetadata = [];
    md.forEach((h: Json, i: number) => {
      const hp = at(at(op, 'grpcInitialMetadata'), i);
      const key = str(h, 'key', hp).toLowerCase();
      if (!key) throw new ConfigError(at(hp, 'key'), 'required');
      out.initialMetadata!.push(key, str(h, 'value', hp));
    });
  }
  return out;
}
