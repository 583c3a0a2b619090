// xds.type.matcher.v3.Matcher over an HTTP request, as the RBAC filter's matcher form uses it:
// matcher_list entries in order (the first whose predicate holds decides), then on_no_match.
// Inputs: request headers (pseudo-headers included), query parameters, the client's and the
// socket peer's addresses, local address and port, SNI, dynamic metadata, and the request
// attributes a CEL matcher reads. Input matchers: string value_match, the IP matcher, the
// metadata ValueMatcher, and CEL. Anything else is refused with its field.
import { ConfigError } from '../../config/errors.js';
import { compileMatcher, type ActionCompiler, type Matcher, type Predicate as PredicateOf } from '../../config/matcher.js';
import { anyType, at, bool, field, list, numOr, obj, str, type Json } from '../../config/json.js';
import { cidr, inCidr, ipBytes, type CidrRange } from '../../listener/filter_chain.js';
import { queryParams } from '../../router/request.js';
import { compileStringMatcher, type StringMatch } from '../../router/string_match.js';
import { getJoined } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { trustedClientAddress } from './auth_common.js';
import { compileCelMatcher } from './cel.js';

type Predicate = PredicateOf<HttpStream>;
export type HttpMatcher<T> = Matcher<HttpStream, T>;
type StringInput = (s: HttpStream) => string | undefined;
/** Inputs a context adds to the request's (the response inputs of custom_response). */
export type ExtraInputs = (type: string, tc: Json, path: string) => StringInput | undefined;

const NET = 'envoy.extensions.matching.common_inputs.network.v3.';

/** A string-valued input; undefined when the request has no such value. */
function stringInput(type: string, tc: Json, path: string): ((s: HttpStream) => string | undefined) | undefined {
  switch (type) {
    case 'envoy.type.matcher.v3.HttpRequestHeaderMatchInput': {
      const name = str(tc, 'headerName', path).toLowerCase();
      if (!name) throw new ConfigError(at(path, 'headerName'), 'required');
      switch (name) {
        case ':method': return (s) => s.method;
        case ':path': return (s) => s.path;
        case ':authority': case 'host': return (s) => s.authority;
        case ':scheme': return (s) => s.scheme;
        default: return (s) => getJoined(s.headers, name);
      }
    }
    case 'envoy.type.matcher.v3.HttpRequestQueryParamMatchInput': {
      const name = str(tc, 'queryParam', path);
      return (s) => queryParams(s).get(name);
    }
    case `${NET}SourceIPInput`: return (s) => trustedClientAddress(s);
    case `${NET}DirectSourceIPInput`: return (s) => s.downstream.remoteAddress;
    case `${NET}SourcePortInput`: return (s) => String(s.downstream.remotePort);
    case `${NET}DestinationIPInput`: return (s) => s.downstream.localAddress;
    case `${NET}DestinationPortInput`: return (s) => String(s.downstream.localPort);
    case `${NET}ServerNameInput`: return (s) => s.downstream.serverName || undefined;
    default: return undefined;
  }
}

// --- envoy.type.matcher.v3.ValueMatcher over a metadata value ---

type ValueMatch = (v: unknown) => boolean;

function compileValueMatcher(m: Json, path: string): ValueMatch {
  if (field(m, 'nullMatch') !== undefined) return (v) => v === null;
  const dm = obj(m, 'doubleMatch', path);
  if (dm) {
    const dp = at(path, 'doubleMatch');
    const exact = field(dm, 'exact');
    const range = obj(dm, 'range', dp);
    const hit = exact !== undefined ? (x: number) => x === Number(exact)
      : range ? (x: number) => x >= Number(field(range, 'start') ?? -Infinity) && x < Number(field(range, 'end') ?? Infinity)
        : (() => { throw new ConfigError(dp, 'one of range or exact is required'); })();
    const invert = bool(dm, 'invert', dp);
    return (v) => typeof v === 'number' && hit(v) !== invert;
  }
  const sm = obj(m, 'stringMatch', path);
  if (sm) { const f = compileStringMatcher(sm, at(path, 'stringMatch')); return (v) => typeof v === 'string' && f(v); }
  if (field(m, 'boolMatch') !== undefined) { const b = bool(m, 'boolMatch', path); return (v) => v === b; }
  if (field(m, 'presentMatch') !== undefined) { const p = bool(m, 'presentMatch', path); return (v) => (v !== undefined) === p; }
  const lm = obj(m, 'listMatch', path);
  if (lm) {
    const one = obj(lm, 'oneOf', at(path, 'listMatch'));
    if (!one) throw new ConfigError(at(path, 'listMatch.oneOf'), 'required');
    const f = compileValueMatcher(one, at(path, 'listMatch.oneOf'));
    return (v) => Array.isArray(v) && v.some(f);
  }
  const om = obj(m, 'orMatch', path);
  if (om) {
    const fs = list(om, 'valueMatchers', at(path, 'orMatch')).map((x: Json, i: number) => compileValueMatcher(x, at(at(path, 'orMatch.valueMatchers'), i)));
    return (v) => fs.some((f) => f(v));
  }
  throw new ConfigError(path, 'a value matcher needs one of null/double/string/bool/present/list/or match');
}

function dynamicMetadataInput(tc: Json, path: string): (s: HttpStream) => unknown {
  const ns = str(tc, 'filter', path);
  const keys = list(tc, 'path', path).map((k: Json, i: number) => {
    const key = str(k, 'key', at(at(path, 'path'), i));
    if (!key) throw new ConfigError(at(at(path, 'path'), i), 'only key path segments are supported');
    return key;
  });
  return (s) => {
    let v: unknown = s.dynamicMetadata?.[ns];
    for (const k of keys) {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
      v = (v as Record<string, unknown>)[k];
    }
    return v;
  };
}

function compileSingle(sp: Json, path: string, extra: ExtraInputs | undefined): Predicate {
  const inp = obj(sp, 'input', path);
  const ip = at(path, 'input.typedConfig');
  const itc = inp && obj(inp, 'typedConfig', at(path, 'input'));
  if (!itc) throw new ConfigError(ip, 'required');
  const itype = anyType(itc, ip);
  const vm = obj(sp, 'valueMatch', path);
  const cm = obj(sp, 'customMatch', path);
  const ctc = cm && obj(cm, 'typedConfig', at(path, 'customMatch'));
  const cp = at(path, 'customMatch.typedConfig');
  const ctype = ctc ? anyType(ctc, cp) : '';
  if (itype === 'xds.type.matcher.v3.HttpAttributesCelMatchInput') {
    if (ctype !== 'xds.type.matcher.v3.CelMatcher') throw new ConfigError(cp, 'the CEL input needs the CEL matcher');
    return compileCelMatcher(ctc!, cp);
  }
  if (itype === `${NET}DynamicMetadataInput`) {
    const read = dynamicMetadataInput(itc, ip);
    if (ctype !== 'envoy.extensions.matching.input_matchers.metadata.v3.Metadata') throw new ConfigError(cp, 'dynamic metadata needs the metadata input matcher');
    const value = obj(ctc!, 'value', cp);
    if (!value) throw new ConfigError(at(cp, 'value'), 'required');
    const f = compileValueMatcher(value, at(cp, 'value'));
    const invert = bool(ctc!, 'invert', cp);
    return (s) => { const v = read(s); return (v !== undefined && f(v)) !== invert; };
  }
  const read = extra?.(itype, itc, ip) ?? stringInput(itype, itc, ip);
  if (!read) throw new ConfigError(ip, `unsupported matching input ${itype}`);
  if (vm) {
    const sm: StringMatch = compileStringMatcher(vm, at(path, 'valueMatch'));
    return (s) => { const v = read(s); return v !== undefined && sm(v); };
  }
  if (ctype === 'envoy.extensions.matching.input_matchers.ip.v3.Ip') {
    const ranges: CidrRange[] = list(ctc!, 'cidrRanges', cp).map((r: Json, i: number) => cidr(str(r, 'addressPrefix', at(at(cp, 'cidrRanges'), i)), numOr(r, 'prefixLen', at(at(cp, 'cidrRanges'), i), 0)));
    if (!ranges.length) throw new ConfigError(at(cp, 'cidrRanges'), 'at least one range is required');
    const invert = bool(ctc!, 'invertMatch', cp);
    return (s) => {
      const v = read(s);
      const ipb = v === undefined ? undefined : ipBytes(v);
      return ipb !== undefined && ranges.some((r) => inCidr(ipb, r)) !== invert;
    };
  }
  throw new ConfigError(cm ? cp : path, ctype ? `unsupported input matcher ${ctype}` : 'a single predicate needs value_match or custom_match');
}

/**
 * Compiles a Matcher over an HTTP request (config/matcher.ts) with the inputs above; `extra` adds
 * the inputs of the context (e.g. the response) to the request's.
 */
export function compileHttpMatcher<T>(m: Json, path: string, action: ActionCompiler<T>, extra?: ExtraInputs): HttpMatcher<T> {
  return compileMatcher(m, path, (sp, p) => compileSingle(sp, p, extra), action);
}
