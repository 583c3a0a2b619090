// envoy.filters.http.header_mutation: ordered header edits (remove a header, add one with an
// append action, remove every header whose name matches) on the request and the response, from
// the filter's config and the route's HeaderMutationPerRoute. By default the route's edits run
// first and the filter's last (the filter has the final word); most_specific_header_mutations_wins
// reverses that.
import { ConfigError } from '../../config/errors.js';
import { at, bool, enumOf, field, list, obj, str, type Json } from '../../config/json.js';
import { compileStringMatcher, type StringMatch } from '../../router/string_match.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { compileFormat, type ValueFormatter } from '../header_mutation.js';
import { addHeader, hasHeader, removeHeader, setHeader, validHeaderName, validHeaderValue, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

type Op =
  | { kind: 'remove'; name: string }
  | { kind: 'removeOnMatch'; match: StringMatch }
  | { kind: 'append'; name: string; value: string | ValueFormatter; action: string; keepEmpty: boolean };

interface Mutations { request: Op[]; response: Op[] }

const ACTIONS = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'] as const;

function compileOp(m: Json, path: string): Op {
  const remove = field(m, 'remove');
  if (typeof remove === 'string') {
    const name = remove.toLowerCase();
    if (!validHeaderName(name)) throw new ConfigError(at(path, 'remove'), `invalid header name ${JSON.stringify(remove)}`);
    return { kind: 'remove', name };
  }
  const rom = obj(m, 'removeOnMatch', path);
  if (rom) {
    const km = obj(rom, 'keyMatcher', at(path, 'removeOnMatch'));
    if (!km) throw new ConfigError(at(path, 'removeOnMatch.keyMatcher'), 'required');
    return { kind: 'removeOnMatch', match: compileStringMatcher(km, at(path, 'removeOnMatch.keyMatcher')) };
  }
  const a = obj(m, 'append', path);
  if (!a) throw new ConfigError(path, 'one of remove, append or remove_on_match is required');
  const ap = at(path, 'append');
  const h = obj(a, 'header', ap);
  if (!h) throw new ConfigError(at(ap, 'header'), 'required');
  const name = str(h, 'key', at(ap, 'header')).toLowerCase();
  if (!validHeaderName(name) || name.startsWith(':')) throw new ConfigError(at(ap, 'header.key'), `invalid header name ${JSON.stringify(name)}`);
  let raw = field(h, 'value');
  if (raw === undefined && field(h, 'rawValue') !== undefined) raw = Buffer.from(field(h, 'rawValue'), 'base64').toString('latin1');
  const value = typeof raw === 'string' ? raw : '';
  if (!validHeaderValue(value)) throw new ConfigError(at(ap, 'header.value'), 'header values may not contain CR, LF or NUL');
  const appendBool = field(a, 'append');
  const action = appendBool !== undefined && appendBool !== null
    ? ((typeof appendBool === 'object' ? appendBool.value : appendBool) ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD')
    : enumOf(a, 'appendAction', ap, ACTIONS, 'APPEND_IF_EXISTS_OR_ADD');
  return { kind: 'append', name, value: compileFormat(value, at(ap, 'header.value')), action, keepEmpty: bool(a, 'keepEmptyValue', ap) };
}

function compileMutations(c: Json | undefined, path: string): Mutations {
  if (!c) return { request: [], response: [] };
  for (const unsupported of ['queryParameterMutations', 'requestTrailersMutations', 'responseTrailersMutations']) {
    const v = field(c, unsupported);
    if (v !== undefined && (!Array.isArray(v) || v.length)) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  return {
    request: list(c, 'requestMutations', path).map((m: Json, i: number) => compileOp(m, at(at(path, 'requestMutations'), i))),
    response: list(c, 'responseMutations', path).map((m: Json, i: number) => compileOp(m, at(at(path, 'responseMutations'), i))),
  };
}

function apply(ops: Op[], h: HeaderList, s: HttpStream): void {
  for (const op of ops) {
    switch (op.kind) {
      case 'remove': removeHeader(h, op.name); break;
      case 'removeOnMatch':
        for (let i = h.length - 2; i >= 0; i -= 2) if (op.match(h[i]!)) h.splice(i, 2);
        break;
      case 'append': {
        const v = typeof op.value === 'string' ? op.value : op.value(s);
        if (v === '' && !op.keepEmpty) break;
        switch (op.action) {
          case 'APPEND_IF_EXISTS_OR_ADD': addHeader(h, op.name, v); break;
          case 'ADD_IF_ABSENT': if (!hasHeader(h, op.name)) addHeader(h, op.name, v); break;
          case 'OVERWRITE_IF_EXISTS_OR_ADD': setHeader(h, op.name, v); break;
          case 'OVERWRITE_IF_EXISTS': if (hasHeader(h, op.name)) setHeader(h, op.name, v); break;
        }
      }
    }
  }
}

class HeaderMutationFilter implements HttpFilter {
  constructor(readonly name: string, private readonly own: Mutations, private readonly specificWins: boolean) {}

  /** The mutation lists in the order they run. */
  private lists(s: HttpStream): Mutations[] {
    const r = s.route;
    const route = r?.perFilter?.get(this.name)?.config as Mutations | undefined;
    const vh = r?.virtualHost.perFilter?.get(this.name)?.config as Mutations | undefined;
    const table = r?.virtualHost.table.perFilter?.get(this.name)?.config as Mutations | undefined;
    const specific = [route, vh, table].filter((m): m is Mutations => m !== undefined);
    if (!specific.length) return [this.own];
    return this.specificWins ? [this.own, ...specific.reverse()] : [...specific, this.own];
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    for (const m of this.lists(s)) if (m.request.length) apply(m.request, s.headers, s);
    return FilterStatus.Continue;
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    for (const m of this.lists(s)) if (m.response.length) apply(m.response, headers, s);
  }
}

const PER_ROUTE = 'envoy.extensions.filters.http.header_mutation.v3.HeaderMutationPerRoute';

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
  create: (name, c, path) => new HeaderMutationFilter(name, compileMutations(obj(c, 'mutations', path), at(path, 'mutations')), bool(c, 'mostSpecificHeaderMutationsWins', path)),
  perRoute: { [PER_ROUTE]: (c, path) => compileMutations(obj(c, 'mutations', path), at(path, 'mutations')) },
});
