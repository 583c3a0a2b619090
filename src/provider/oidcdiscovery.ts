// OpenID Connect discovery for the translator, which does no I/O: the issuers whose OIDC providers
// leave their endpoints to discovery get their /.well-known/openid-configuration fetched here,
// cached, and handed to the translation in the Resources bundle (Resources.oidcDiscovery). A
// document that arrives later (or changes when refreshed) is announced, so that the bundle is
// translated again; an issuer that cannot be reached is retried after a while.
import type { OIDCDiscoveryDocument, Resources } from '../resources/resources.js';

export interface OIDCDiscoveryOptions {
  /** The HTTP client (tests hand in their own). */
  fetch?: typeof fetch;
  /** How long a fetched document is used before it is fetched again. */
  refreshMs?: number;
  /** How long after a failed fetch the issuer is tried again. */
  retryMs?: number;
  /** How long one fetch may take. */
  timeoutMs?: number;
  /** Called when a document arrives or changes: the bundles naming its issuer need translating. */
  onChange?: (issuer: string) => void;
  /** Called when an issuer's document cannot be had. */
  onError?: (issuer: string, message: string) => void;
}

interface Entry {
  doc?: OIDCDiscoveryDocument;
  /** When the document (or the failure) was had. */
  at: number;
  failed: boolean;
  pending?: Promise<void>;
}

/** The issuers of a bundle's OIDC providers that do not give both endpoints themselves. */
export function issuersToDiscover(r: Resources): string[] {
  const out = new Set<string>();
  for (const p of r.securityPolicies) {
    const provider = p.spec?.oidc?.provider;
    if (provider?.issuer && (!provider.authorizationEndpoint || !provider.tokenEndpoint)) out.add(provider.issuer);
  }
  return [...out];
}

/** Where an issuer publishes its provider configuration (OpenID Connect Discovery 1.0, section 4). */
export function discoveryURL(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export class OIDCDiscovery {
  private readonly entries = new Map<string, Entry>();
  private readonly fetch: typeof fetch;
  private readonly refreshMs: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: OIDCDiscoveryOptions = {}) {
    this.fetch = opts.fetch ?? fetch;
    this.refreshMs = opts.refreshMs ?? 60 * 60 * 1000;
    this.retryMs = opts.retryMs ?? 30 * 1000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /**
   * The documents known now for the issuers a bundle needs. Missing, failed-long-enough or stale
   * ones are fetched in the background; onChange says when one arrives.
   */
  documentsFor(r: Resources): Record<string, OIDCDiscoveryDocument> | undefined {
    let out: Record<string, OIDCDiscoveryDocument> | undefined;
    for (const issuer of issuersToDiscover(r)) {
      const e = this.entries.get(issuer);
      if (!e || this.due(e)) void this.load(issuer);
      if (e?.doc) (out ??= {})[issuer] = e.doc;
    }
    return out;
  }

  /** Fetches what a bundle needs and waits for it (for one-shot commands). */
  async resolve(r: Resources): Promise<Record<string, OIDCDiscoveryDocument> | undefined> {
    await Promise.all(issuersToDiscover(r).map((issuer) => this.load(issuer)));
    return this.documentsFor(r);
  }

  private due(e: Entry): boolean {
    if (e.pending) return false;
    return Date.now() - e.at >= (e.failed ? this.retryMs : this.refreshMs);
  }

  private load(issuer: string): Promise<void> {
    const existing = this.entries.get(issuer);
    if (existing?.pending) return existing.pending;
    const entry: Entry = existing ?? { at: 0, failed: false };
    this.entries.set(issuer, entry);
    entry.pending = this.fetchDocument(issuer)
      .then((doc) => {
        const changed = JSON.stringify(doc) !== JSON.stringify(entry.doc);
        Object.assign(entry, { doc, failed: false, at: Date.now() });
        if (changed) this.opts.onChange?.(issuer);
      })
      .catch((err: unknown) => {
        // A document had before stays in use while the issuer cannot be reached.
        Object.assign(entry, { failed: true, at: Date.now() });
        this.opts.onError?.(issuer, (err as Error).message);
      })
      .finally(() => {
        entry.pending = undefined;
      });
    return entry.pending;
  }

  private async fetchDocument(issuer: string): Promise<OIDCDiscoveryDocument> {
    const url = discoveryURL(issuer);
    const res = await this.fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    const body: unknown = await res.json();
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error(`${url}: not a JSON object`);
    const b = body as Record<string, unknown>;
    const doc: OIDCDiscoveryDocument = {};
    for (const k of ['issuer', 'authorization_endpoint', 'token_endpoint', 'end_session_endpoint'] as const) {
      if (typeof b[k] === 'string') doc[k] = b[k];
    }
    if (!doc.authorization_endpoint || !doc.token_endpoint) throw new Error(`${url}: no authorization_endpoint or token_endpoint`);
    return doc;
  }
}
