// Envoy's safe_regex is Google RE2: linear-time matching and RE2's syntax (no backreferences, no
// lookaround). We use re2js, a pure-JavaScript port of RE2 (via RE2J), rather than:
//  - the native `re2` addon: its current release needs Node 22, and older ones download a prebuilt
//    binary or compile RE2 + Abseil with node-gyp at install (minutes on 2 cores, and the download
//    is unreachable here), which a fresh CI machine should not depend on;
//  - translating to a JS RegExp: V8's backtracking engine can take exponential time on patterns
//    that RE2 runs in linear time (an attacker controls the input), and its syntax differs in
//    places (\z, (?P<n>), [[:alpha:]], (?U)).
// re2js costs ~0.5-1 µs per match on a short path, so regex routes stay cheap; literal routes never
// reach it. Compiled patterns are shared through api/re2.ts's bounded cache.
import type { RE2JS } from 're2js';
import { compileRE2 } from '../../api/re2.js';
import { ConfigError } from '../config/errors.js';

export interface Regex {
  /** RE2::FullMatch: the whole input must match, as Envoy's safe_regex matchers do. */
  fullMatch(input: string): boolean;
  /** RE2::GlobalReplace with Envoy's substitution syntax (\0..\9 name capture groups). */
  replaceAll(input: string, substitution: string): string;
  readonly source: string;
}

class Re2Regex implements Regex {
  private readonly re: RE2JS;
  constructor(readonly source: string) {
    this.re = compileRE2(source);
  }
  fullMatch(input: string): boolean {
    return this.re.matches(input);
  }
  replaceAll(input: string, substitution: string): string {
    return this.re.matcher(input).replaceAll(toJavaReplacement(substitution));
  }
}

/** Envoy writes capture references as \1; re2js (Java-style) wants $1 and a literal $ escaped. */
function toJavaReplacement(sub: string): string {
  let out = '';
  for (let i = 0; i < sub.length; i++) {
    const c = sub[i]!;
    if (c === '\\' && i + 1 < sub.length) {
      const n = sub[i + 1]!;
      if (n >= '0' && n <= '9') { out += `$${n}`; i++; continue; }
      if (n === '\\') { out += '\\\\'; i++; continue; }
    }
    if (c === '$') { out += '\\$'; continue; }
    out += c;
  }
  return out;
}

/** Compiles an RE2 pattern, or throws a ConfigError at `path` when RE2 would reject it. */
export function compileRegex(source: string, path: string): Regex {
  try {
    return new Re2Regex(source);
  } catch (err) {
    throw new ConfigError(path, `invalid RE2 regex ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}
