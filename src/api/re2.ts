// RE2, the regular expression engine of Envoy's safe_regex matchers: what it accepts is what a
// user's regex may be. One check serves both sides: the Gateway API translator rejects what RE2
// rejects (backreferences, lookaround, possessive or nested repetition, repeat counts over
// 1000...) and accepts RE2 syntax JavaScript lacks ((?i), (?P<name>), \z, [[:alpha:]], \Q..\E);
// the built-in proxy compiles the same patterns with the same engine. re2js is a pure-JavaScript
// port of RE2 (see proxy/router/regex.ts for why not the native addon or JS RegExp).
import { RE2JS } from 're2js';

/** Compiles an RE2 pattern; throws RE2's parse error when RE2 rejects it. */
export function compileRE2(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

const verdicts = new Map<string, string | undefined>();

/** Why RE2 rejects a pattern, or undefined when it accepts it. */
export function re2Error(pattern: string): string | undefined {
  if (verdicts.has(pattern)) return verdicts.get(pattern);
  let err: string | undefined;
  try {
    compileRE2(pattern);
  } catch (e) {
    err = (e as Error).message;
  }
  if (verdicts.size >= 10000) verdicts.clear();
  verdicts.set(pattern, err);
  return err;
}
