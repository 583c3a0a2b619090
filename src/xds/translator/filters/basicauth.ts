// Basic authentication (SecurityPolicy basicAuth): one filter per policy with its htpasswd users.
import { typed, type Msg } from '../util.js';
import { uniqueFilters, type HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.basic_auth';

export const basicAuth: HTTPFeature = {
  filters(l) {
    return uniqueFilters(l.routes, (r) => {
      const b = r.security?.basicAuth;
      if (!b) return undefined;
      const cfg: Msg = { users: { inlineBytes: b.users } };
      if (b.forwardUsernameHeader) cfg.forwardUsernameHeader = b.forwardUsernameHeader;
      return [{ name: `${filterType}/${b.name}`, disabled: true, typedConfig: typed('envoy.extensions.filters.http.basic_auth.v3.BasicAuth', cfg) }];
    });
  },
  perRoute(r) {
    const b = r.security?.basicAuth;
    if (!b) return undefined;
    return { [`${filterType}/${b.name}`]: typed('envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute', { users: { inlineBytes: b.users } }) };
  },
};
