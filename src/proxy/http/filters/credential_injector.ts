// envoy.filters.http.credential_injector: puts a credential into a request header (Authorization
// unless the generic credential names another) on its way upstream. The credential is an SDS
// generic secret, read per request so that a rotated secret applies at once. A request that
// already carries the header keeps it unless `overwrite`; without the secret, the request is
// refused with 401 unless `allow_request_without_credential`. Envoy Gateway uses it both as an
// HTTP filter enabled per route and as an upstream filter of a backend's cluster.
import { ConfigError } from '../../config/errors.js';
import { anyType, at, bool, obj, str, type Json } from '../../config/json.js';
import { counter, type Counter } from '../../stats.js';
import { FilterStatus, type FilterFactoryContext, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { hasHeader, setHeader, validHeaderName } from '../headers.js';
import type { HttpStream } from '../stream.js';

const CONFIG_TYPE = 'envoy.extensions.filters.http.credential_injector.v3.CredentialInjector';
const GENERIC = 'envoy.extensions.http.injected_credentials.generic.v3.Generic';

interface InjectorConfig {
  secretName: string;
  header: string;
  overwrite: boolean;
  allowWithout: boolean;
}

function compile(c: Json, path: string): InjectorConfig {
  const cred = obj(c, 'credential', path);
  const tc = cred && obj(cred, 'typedConfig', at(path, 'credential'));
  const tp = at(path, 'credential.typedConfig');
  if (!tc) throw new ConfigError(tp, 'required');
  const type = anyType(tc, tp);
  if (type !== GENERIC) throw new ConfigError(tp, `unsupported credential ${type} (the generic credential is supported)`);
  const sds = obj(tc, 'credential', tp);
  const secretName = sds ? str(sds, 'name', at(tp, 'credential')) : '';
  if (!secretName) throw new ConfigError(at(tp, 'credential.name'), 'an SDS secret name is required');
  const header = (str(tc, 'header', tp) || 'Authorization').toLowerCase();
  if (!validHeaderName(header) || header.startsWith(':')) throw new ConfigError(at(tp, 'header'), `invalid header name ${JSON.stringify(header)}`);
  return { secretName, header, overwrite: bool(c, 'overwrite', path), allowWithout: bool(c, 'allowRequestWithoutCredential', path) };
}

const stats = { injected: counter('credential_injector.injected'), alreadyExists: counter('credential_injector.already_exists'), failed: counter('credential_injector.failed') } satisfies Record<string, Counter>;

class CredentialInjectorFilter implements HttpFilter {
  /** What the proxy subscribes to over SDS for this filter. */
  readonly sdsSecretNames: readonly string[];

  constructor(readonly name: string, private readonly config: InjectorConfig, private readonly ctx: FilterFactoryContext) {
    this.sdsSecretNames = [config.secretName];
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const c = this.config;
    if (!c.overwrite && hasHeader(s.headers, c.header)) {
      stats.alreadyExists.value++;
      return FilterStatus.Continue;
    }
    const secret = this.ctx.secrets?.get(c.secretName);
    if (!secret || secret.kind !== 'genericSecret') {
      stats.failed.value++;
      if (c.allowWithout) return FilterStatus.Continue;
      s.sendLocalReply(401, 'Failed to inject credential.', 'failed_to_inject_credential');
      return FilterStatus.Stop;
    }
    setHeader(s.headers, c.header, secret.secret.toString('latin1'));
    stats.injected.value++;
    return FilterStatus.Continue;
  }
}

registerHttpFilter({
  configType: CONFIG_TYPE,
  create: (name, c, path, ctx) => new CredentialInjectorFilter(name, compile(c, path), ctx),
});
