// RE2, the regular expression engine of Envoy's safe_regex matchers: what it accepts is what a
// user's regex may be. One check serves both sides: the Gateway API translator rejects what RE2
// rejects (backreferences, lookaround, possessive or nested repetition, repeat counts over
// 1000...) and accepts RE2 syntax JavaScript lacks ((?i), (?P<name>), \z, [[:alpha:]], \Q..\E);
// the built-in proxy compiles the same patterns with the same engine. re2js is a pure-JavaScript
// port of RE2 (see proxy/router/regex.ts for why not the native addon or JS RegExp).
import { RE2JS } from 're2js';

/**
 * Patterns compiled (or refused) lately, least recently used first. A configuration reuses a
 * pattern across routes and across its re-translations, so compiling once pays; the bound keeps a
 * long-running control plane or proxy that sees ever new patterns from growing without end. A
 * thousand covers the regexes of a large configuration; one pushed out is simply compiled again.
 */
const MAX_CACHED = 1000;
const cache = new Map<string, { re?: RE2JS; error?: string }>();

function compiled(pattern: string): { re?: RE2JS; error?: string } {
  let c = cache.get(pattern);
  if (c) {
    cache.delete(pattern);
  } else {
    try {
      c = { re: RE2JS.compile(pattern) };
    } catch (e) {
      c = { error: (e as Error).message };
    }
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  }
  cache.set(pattern, c);
  return c;
}

/** Compiles an RE2 pattern (shared with other users of the same pattern); throws RE2's parse error when RE2 rejects it. */
export function compileRE2(pattern: string): RE2JS {
  const c = compiled(pattern);
  if (c.error !== undefined) throw new Error(c.error);
  return c.re!;
}

/** Why RE2 rejects a pattern, or undefined when it accepts it. */
export function re2Error(pattern: string): string | undefined {
  return compiled(pattern).error;
}

/** How many patterns are cached (at most MAX_CACHED). */
export function cachedRE2Patterns(): number {
  return cache.size;
}
