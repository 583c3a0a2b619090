// The X-RateLimit-* response headers (draft-polli-ratelimit-headers-03, Envoy's
// DRAFT_VERSION_03): the limit, what is left of it, and the seconds until it resets.
import { setHeader, type HeaderList } from '../../headers.js';

export function setRateLimitHeaders(h: HeaderList, limit: string | number, remaining: number, resetSeconds: number): void {
  setHeader(h, 'x-ratelimit-limit', String(limit));
  setHeader(h, 'x-ratelimit-remaining', String(Math.max(0, remaining)));
  setHeader(h, 'x-ratelimit-reset', String(resetSeconds));
}
