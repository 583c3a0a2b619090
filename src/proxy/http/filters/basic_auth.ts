// envoy.filters.http.basic_auth: RFC 7617 credentials checked against an htpasswd list of
// {SHA} hashes (the listener's users, or the route's BasicAuthPerRoute users). A failure is a
// 401 with Envoy's reason and a WWW-Authenticate challenge; on success the user name may be
// forwarded in a header.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../../config/errors.js';
import { at, dataSource, str, type Json } from '../../config/json.js';
import { FilterStatus, type FilterFactoryContext, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, setHeader } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats, originalUri } from './auth_common.js';

/** User name → SHA-1 digest of the password. */
type Users = Map<string, Buffer>;

interface PerRoute { users: Users }

export function parseHtpasswd(text: string, path: string): Users {
  const users: Users = new Map();
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new ConfigError(path, 'invalid htpasswd format, username:password is expected');
    const name = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!name || !hash) throw new ConfigError(path, 'empty user name or password');
    if (users.has(name)) throw new ConfigError(path, `duplicate user '${name}'`);
    if (!hash.startsWith('{SHA}')) throw new ConfigError(path, `unsupported htpasswd format: please use {SHA} for '${name}'`);
    const b64 = hash.slice(5);
    if (b64.length !== 28) throw new ConfigError(path, `invalid SHA hash length for '${name}'`);
    users.set(name, Buffer.from(b64, 'base64'));
  }
  return users;
}

function readUsers(c: Json, path: string, readFile: (p: string) => Buffer): Users {
  const data = dataSource(c, 'users', path, readFile);
  if (!data) throw new ConfigError(at(path, 'users'), 'required');
  return parseHtpasswd(data.toString(), at(path, 'users'));
}

const STATS = ['allowed', 'denied'] as const;

class BasicAuthFilter implements HttpFilter {
  private readonly stats = new FilterStats('basic_auth.', STATS);

  constructor(readonly name: string, private readonly users: Users, private readonly forwardUsernameHeader: string, private readonly authHeader: string) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const users = (s.perFilterConfig(this.name)?.config as PerRoute | undefined)?.users ?? this.users;
    const value = getHeader(s.headers, this.authHeader);
    if (value === undefined) return this.deny(s, 'User authentication failed. Missing username and password.', 'no_credential_for_basic_auth');
    if (!value.startsWith('Basic ')) return this.deny(s, "User authentication failed. Expected 'Basic' authentication scheme.", 'invalid_scheme_for_basic_auth');
    const decoded = Buffer.from(value.slice(6), 'base64').toString('latin1');
    const colon = decoded.indexOf(':');
    if (colon < 0) return this.deny(s, 'User authentication failed. Invalid basic credential format.', 'invalid_format_for_basic_auth');
    const user = decoded.slice(0, colon);
    const expected = users.get(user);
    const digest = createHash('sha1').update(Buffer.from(decoded.slice(colon + 1), 'latin1')).digest();
    if (!expected || !timingSafeEqual(expected, digest)) {
      return this.deny(s, 'User authentication failed. Invalid username/password combination.', 'invalid_credential_for_basic_auth');
    }
    if (this.forwardUsernameHeader) setHeader(s.headers, this.forwardUsernameHeader, user);
    this.stats.of(s).allowed.value++;
    return FilterStatus.Continue;
  }

  private deny(s: HttpStream, body: string, details: string): FilterStatus {
    this.stats.of(s).denied.value++;
    s.sendLocalReply(401, body, details, ['www-authenticate', `Basic realm="${originalUri(s)}"`]);
    return FilterStatus.Stop;
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.basic_auth.v3.BasicAuth',
  create(name: string, c: Json, path: string, ctx: FilterFactoryContext): HttpFilter {
    return new BasicAuthFilter(name, readUsers(c, path, ctx.readFile),
      str(c, 'forwardUsernameHeader', path).toLowerCase(), (str(c, 'authenticationHeader', path) || 'authorization').toLowerCase());
  },
  perRoute: {
    // Route configs are compiled without the listener's file access: inline users only.
    'envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute': (c: Json, path: string): PerRoute => ({
      users: readUsers(c, path, (f) => { throw new Error(`files are not read for per-route users (${f})`); }),
    }),
  },
});
