// Late response header changes of a listener (ClientTrafficPolicy headers.lateResponseHeaders):
// the header_mutation filter edits every response after the routes' own header changes.
import type { AddHeader, HTTPListener } from '../../../ir/xds.js';
import { buildStringMatcher } from '../route.js';
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

function appendMutations(headers: AddHeader[] | undefined): Msg[] {
  const out: Msg[] = [];
  for (const h of headers ?? []) {
    const values = h.value?.length ? h.value : [''];
    for (const v of values) {
      const a: Msg = { header: v === '' ? { key: h.name } : { key: h.name, value: v } };
      if (h.addIfAbsent) a.appendAction = 'ADD_IF_ABSENT';
      else if (!h.append) a.appendAction = 'OVERWRITE_IF_EXISTS_OR_ADD';
      if (v === '') a.keepEmptyValue = true;
      out.push({ append: a });
    }
  }
  return out;
}

function responseMutations(l: HTTPListener): Msg[] {
  const h = l.headers;
  return [
    ...appendMutations(h?.lateAddResponseHeaders),
    ...(h?.lateRemoveResponseHeaders ?? []).map((name) => ({ remove: name })),
    ...(h?.lateRemoveResponseHeadersOnMatch ?? []).map((m) => ({ removeOnMatch: { keyMatcher: buildStringMatcher(m) } })),
  ];
}

export const headerMutation: HTTPFeature = {
  filters(l) {
    const resp = responseMutations(l);
    if (!resp.length) return [];
    return [{
      name: 'envoy.filters.http.header_mutation',
      typedConfig: typed('envoy.extensions.filters.http.header_mutation.v3.HeaderMutation', { mutations: { responseMutations: resp } }),
    }];
  },
};
