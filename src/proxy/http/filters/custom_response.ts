// envoy.filters.http.custom_response: a matcher over the response (status code, status class,
// headers, whether the proxy generated it, and the request's inputs) picks a policy that
// replaces the response. The local response policy answers with its own body (body or
// body_format), status (the original one unless status_code is set) and response headers;
// the response it sends is not matched again. Envoy Gateway installs one filter per
// BackendTrafficPolicy responseOverride, disabled, and turns it on for its routes; a per-route
// CustomResponse replaces the listener's matcher.
//
// The redirect policy is an internal redirect in Envoy (the request is sent again to the new
// URI's route and that response returned), which this proxy does not do: it is refused.
import { ConfigError } from '../../config/errors.js';
import { at, field, num, obj, str, type Json } from '../../config/json.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { compileHeaderMutation, type HeaderMutation } from '../header_mutation.js';
import { getJoined, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { compileHttpMatcher, type ExtraInputs, type HttpMatcher } from './http_matcher.js';

const CONFIG_TYPE = 'envoy.extensions.filters.http.custom_response.v3.CustomResponse';
const LOCAL_RESPONSE = 'envoy.extensions.http.custom_response.local_response_policy.v3.LocalResponsePolicy';
const REDIRECT = 'envoy.extensions.http.custom_response.redirect_policy.v3.RedirectPolicy';

interface LocalResponse {
  status: number | undefined;
  body: string | undefined;
  contentType: string;
  headers: HeaderMutation | undefined;
}

type CustomResponseConfig = HttpMatcher<LocalResponse>;

/** The response inputs (the request's come from the shared matcher). */
const responseInputs: ExtraInputs = (type, tc, path) => {
  switch (type) {
    case 'envoy.type.matcher.v3.HttpResponseStatusCodeMatchInput': return (s) => String(s.responseCode);
    case 'envoy.type.matcher.v3.HttpResponseStatusCodeClassMatchInput': return (s) => `${Math.floor(s.responseCode / 100)}xx`;
    case 'envoy.type.matcher.v3.HttpResponseLocalReplyMatchInput': return (s) => String(s.localReply);
    case 'envoy.type.matcher.v3.HttpResponseHeaderMatchInput': {
      const name = str(tc, 'headerName', path).toLowerCase();
      if (!name) throw new ConfigError(at(path, 'headerName'), 'required');
      return (s) => (s.responseHeaders ? getJoined(s.responseHeaders, name) : undefined);
    }
    default: return undefined;
  }
};

function compileLocalResponse(c: Json, path: string): LocalResponse {
  let body: string | undefined;
  let contentType = 'text/plain';
  const b = obj(c, 'body', path);
  if (b) body = inlineText(b, at(path, 'body'));
  const bf = obj(c, 'bodyFormat', path);
  if (bf) {
    const bp = at(path, 'bodyFormat');
    if (field(bf, 'jsonFormat') !== undefined) throw new ConfigError(at(bp, 'jsonFormat'), 'JSON body formats are not supported');
    const tfs = obj(bf, 'textFormatSource', bp);
    const tf = field(bf, 'textFormat');
    // The text is the body as written (as for direct responses): no %-commands are expanded.
    if (tfs) body = inlineText(tfs, at(bp, 'textFormatSource'));
    else if (typeof tf === 'string') body = tf;
    contentType = str(bf, 'contentType', bp) || contentType;
  }
  const status = num(c, 'statusCode', path);
  if (status !== undefined && (status < 200 || status > 599)) throw new ConfigError(at(path, 'statusCode'), 'must be in [200, 600)');
  return { status, body, contentType, headers: compileHeaderMutation(c, 'responseHeadersToAdd', '', path) };
}

function inlineText(ds: Json, path: string): string {
  const s = field(ds, 'inlineString');
  if (typeof s === 'string') return s;
  const b = field(ds, 'inlineBytes');
  if (typeof b === 'string') return Buffer.from(b, 'base64').toString();
  throw new ConfigError(path, 'only inline bodies are supported');
}

function compilePolicy(type: string, c: Json, path: string): LocalResponse {
  if (type === LOCAL_RESPONSE) return compileLocalResponse(c, path);
  if (type === REDIRECT) throw new ConfigError(path, 'the redirect policy (an internal redirect) is not supported by this proxy');
  throw new ConfigError(path, `unsupported custom response policy ${type}`);
}

function compile(c: Json, path: string): CustomResponseConfig {
  const m = obj(c, 'customResponseMatcher', path);
  if (!m) return () => undefined;
  return compileHttpMatcher(m, at(path, 'customResponseMatcher'), compilePolicy, responseInputs);
}

/** Streams whose response this filter already replaced: that reply is not matched again. */
const REPLACED = {};

class CustomResponseFilter implements HttpFilter {
  constructor(readonly name: string, private readonly config: CustomResponseConfig) {}

  encodeHeaders(s: HttpStream): FilterStatus {
    if (s.responseCode < 200 || s.filterState?.has(REPLACED)) return FilterStatus.Continue;
    const pf = s.perFilterConfig(this.name)?.config as CustomResponseConfig | undefined;
    const policy = (pf ?? this.config)(s);
    if (!policy) return FilterStatus.Continue;
    (s.filterState ??= new Map()).set(REPLACED, true);
    const headers: HeaderList = policy.body ? ['content-type', policy.contentType] : [];
    policy.headers?.apply(headers, s);
    s.sendLocalReply(policy.status ?? s.responseCode, policy.body ?? '', 'custom_response', headers);
    return FilterStatus.Stop;
  }
}

registerHttpFilter({
  configType: CONFIG_TYPE,
  create: (name, c, path) => new CustomResponseFilter(name, compile(c, path)),
  perRoute: { [CONFIG_TYPE]: compile },
});
