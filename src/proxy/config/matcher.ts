// xds.type.matcher.v3.Matcher, Envoy's generic matching API, over any kind of data: matcher_list
// entries in order (the first whose predicate holds decides, its on_match either an action or a
// nested matcher), then on_no_match; predicates are and/or/not combinations of single
// predicates. What a single predicate reads (its input) and how it compares (its input matcher)
// depends on the data, so each user brings its own: HTTP requests (http/filters/http_matcher.ts),
// connections and datagrams (listener/network_matcher.ts). Matcher trees are refused.
import { ConfigError } from './errors.js';
import { anyType, at, list, obj, type Json } from './json.js';

export type Predicate<C> = (data: C) => boolean;
/** A compiled matcher: the action for the data, or undefined when nothing matched. */
export type Matcher<C, T> = (data: C) => T | undefined;
/** Compiles a single_predicate for one kind of data. */
export type SinglePredicateCompiler<C> = (singlePredicate: Json, path: string) => Predicate<C>;
/** Compiles an action's typed config (its type URL without prefix, the config, the path). */
export type ActionCompiler<T> = (type: string, config: Json, path: string) => T;

export function compilePredicate<C>(p: Json, path: string, single: SinglePredicateCompiler<C>): Predicate<C> {
  for (const combiner of ['orMatcher', 'andMatcher'] as const) {
    const c = obj(p, combiner, path);
    if (!c) continue;
    const cp = at(path, combiner);
    const ps = list(c, 'predicate', cp).map((x: Json, i: number) => compilePredicate(x, at(at(cp, 'predicate'), i), single));
    if (ps.length < 2) throw new ConfigError(at(cp, 'predicate'), 'at least two predicates are required');
    return combiner === 'orMatcher' ? (d) => ps.some((f) => f(d)) : (d) => ps.every((f) => f(d));
  }
  const not = obj(p, 'notMatcher', path);
  if (not) { const f = compilePredicate(not, at(path, 'notMatcher'), single); return (d) => !f(d); }
  const sp = obj(p, 'singlePredicate', path);
  if (!sp) throw new ConfigError(path, 'a predicate needs single_predicate, or_matcher, and_matcher or not_matcher');
  return single(sp, at(path, 'singlePredicate'));
}

export function compileMatcher<C, T>(m: Json, path: string, single: SinglePredicateCompiler<C>, action: ActionCompiler<T>): Matcher<C, T> {
  const onMatch = (om: Json, p: string): Matcher<C, T> => {
    const nested = obj(om, 'matcher', p);
    if (nested) return compileMatcher(nested, at(p, 'matcher'), single, action);
    const a = obj(om, 'action', p);
    if (!a) throw new ConfigError(p, 'an action or a matcher is required');
    const tc = obj(a, 'typedConfig', at(p, 'action'));
    const tp = at(p, 'action.typedConfig');
    if (!tc) throw new ConfigError(tp, 'required');
    const value = action(anyType(tc, tp), tc, tp);
    return () => value;
  };
  if (obj(m, 'matcherTree', path)) throw new ConfigError(at(path, 'matcherTree'), 'matcher trees are not supported');
  const nm = obj(m, 'onNoMatch', path);
  const fallback: Matcher<C, T> = nm ? onMatch(nm, at(path, 'onNoMatch')) : () => undefined;
  const ml = obj(m, 'matcherList', path);
  if (!ml) return fallback;
  const entries = list(ml, 'matchers', at(path, 'matcherList')).map((fm: Json, i: number) => {
    const fp = at(at(path, 'matcherList.matchers'), i);
    const pred = obj(fm, 'predicate', fp);
    const om = obj(fm, 'onMatch', fp);
    if (!pred) throw new ConfigError(at(fp, 'predicate'), 'required');
    if (!om) throw new ConfigError(at(fp, 'onMatch'), 'required');
    return { pred: compilePredicate(pred, at(fp, 'predicate'), single), then: onMatch(om, at(fp, 'onMatch')) };
  });
  return (d) => {
    for (const e of entries) if (e.pred(d)) return e.then(d);
    return fallback(d);
  };
}
