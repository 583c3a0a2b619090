// Where a jwt_authn provider gets its keys: an inline JWKS (parsed once), or a remote one fetched
// through the cluster its http_uri names and cached for cache_duration (10 minutes by default).
// With async_fetch the first fetch starts as soon as the configuration is in place, and an
// expired set keeps serving while it is refreshed; otherwise a request that needs keys waits
// for the fetch, which concurrent requests share. A failed fetch is retried (retry_policy), and
// after failed_refetch_duration by the next request that needs keys.
import { ConfigError } from '../../config/errors.js';
import { at, dataSource, durationMs, obj, type Json } from '../../config/json.js';
import type { ClusterManagerView } from '../../upstream/cluster_manager.js';
import { callCluster, compileCallRetry, compileHttpUri, type CallRetryPolicy, type HttpUri } from '../async_client.js';
import { Jwks, JwtStatus } from './jwt_token.js';

export interface JwksSource {
  /** The keys to verify with, or undefined when they could not be had (JwksFetchFail). */
  get(): Jwks | Promise<Jwks | undefined>;
  /** Counts fetches for stats. */
  onFetch?: (ok: boolean) => void;
}

class LocalJwks implements JwksSource {
  constructor(private readonly jwks: Jwks) {}
  get(): Jwks { return this.jwks; }
}

class RemoteJwks implements JwksSource {
  private jwks: Jwks | undefined;
  private fetchedAt = 0;
  private failedAt = 0;
  private inflight: Promise<Jwks | undefined> | undefined;
  onFetch?: (ok: boolean) => void;

  constructor(
    private readonly uri: HttpUri,
    private readonly cacheMs: number,
    private readonly async: boolean,
    private readonly failedRefetchMs: number,
    private readonly retry: CallRetryPolicy | undefined,
    private readonly clusters: ClusterManagerView | undefined,
  ) {
    // The clusters of the same update are applied right after the listener compiles.
    if (async) setImmediate(() => { void this.fetch(); }).unref?.();
  }

  get(): Jwks | Promise<Jwks | undefined> {
    const now = Date.now();
    const fresh = this.jwks && now - this.fetchedAt < this.cacheMs;
    if (fresh) return this.jwks!;
    if (this.jwks && this.async) {
      // Stale keys keep working while they are refreshed in the background.
      if (!this.inflight && now - this.failedAt >= this.failedRefetchMs) void this.fetch();
      return this.jwks;
    }
    return this.inflight ?? this.fetch();
  }

  private fetch(): Promise<Jwks | undefined> {
    if (this.inflight) return this.inflight;
    if (!this.clusters) return Promise.resolve(undefined);
    const u = this.uri;
    this.inflight = callCluster(this.clusters, u.cluster, {
      method: 'GET', path: u.path, authority: u.authority, scheme: u.scheme, headers: ['accept', 'application/json'], timeoutMs: u.timeoutMs, retry: this.retry,
    }).result.then((r) => {
      this.inflight = undefined;
      const ok = r.ok && r.response.status === 200;
      const jwks = ok ? Jwks.parse(r.response.body.toString('utf8')) : undefined;
      if (jwks && jwks.status === JwtStatus.Ok) {
        this.jwks = jwks;
        this.fetchedAt = Date.now();
        this.onFetch?.(true);
        return jwks;
      }
      this.failedAt = Date.now();
      this.onFetch?.(false);
      // An answer that is not a usable key set says why; no answer is a failed fetch.
      return jwks ?? this.jwks;
    });
    return this.inflight;
  }
}

/** The key source of a JwtProvider (local_jwks or remote_jwks). */
export function compileJwksSource(p: Json, path: string, readFile: (f: string) => Buffer, clusters: ClusterManagerView | undefined): JwksSource {
  const remote = obj(p, 'remoteJwks', path);
  if (remote) {
    const rp = at(path, 'remoteJwks');
    const af = obj(remote, 'asyncFetch', rp);
    return new RemoteJwks(
      compileHttpUri(obj(remote, 'httpUri', rp), at(rp, 'httpUri')),
      durationMs(remote, 'cacheDuration', rp) ?? 600_000,
      af !== undefined,
      (af && durationMs(af, 'failedRefetchDuration', at(rp, 'asyncFetch'))) ?? 1000,
      compileCallRetry(obj(remote, 'retryPolicy', rp), at(rp, 'retryPolicy')),
      clusters,
    );
  }
  const local = dataSource(p, 'localJwks', path, readFile);
  if (local) return new LocalJwks(Jwks.parse(local.toString('utf8')));
  throw new ConfigError(path, 'a provider needs remote_jwks or local_jwks');
}
