import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cachedRE2Patterns, compileRE2, re2Error } from '../../src/api/re2.js';
import { translate } from '../../src/gatewayapi/translator.js';
import { defaultSettings } from '../../src/gatewayapi/settings.js';
import { emptyResources } from '../../src/resources/resources.js';
import type { HTTPRoute } from '../../src/api/gatewayapi/index.js';

test('regexes are checked as RE2 checks them', () => {
  // What RE2 rejects and JavaScript accepts.
  for (const p of ['(a)\\1', '(?=a)b', '(?<!a)b', 'a{1001}', '\\X']) assert.notEqual(re2Error(p), undefined, p);
  // What RE2 accepts and JavaScript does not (or only without the u flag).
  for (const p of ['(?i)/API/.*', '(?P<v>v[0-9]+)/.*', '/x\\z', '[[:alpha:]]+', '\\Q.*\\E', '(?s)a.b']) assert.equal(re2Error(p), undefined, p);
  // Rejected by both.
  for (const p of ['a++', '[a-z', '(']) assert.notEqual(re2Error(p), undefined, p);
});

test('compiled patterns are kept in a bounded cache, most recently used kept', () => {
  const kept = compileRE2('/kept/[0-9]+');
  for (let i = 0; i < 3000; i++) {
    assert.equal(re2Error(`/churn/${i}/.*`), undefined);
    if (i % 500 === 0) assert.equal(compileRE2('/kept/[0-9]+'), kept, 'a pattern in use stays cached');
  }
  assert.ok(cachedRE2Patterns() <= 1000, `${cachedRE2Patterns()} patterns cached`);
  assert.throws(() => compileRE2('(a)\\1'), /invalid|backreference|escape/i);
});

test('an HTTPRoute path regex RE2 rejects rejects the rule; RE2-only syntax is accepted', () => {
  const r = emptyResources();
  r.gateways.push({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { namespace: 'ns', name: 'gw' },
    spec: { gatewayClassName: 'eg', listeners: [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }] },
  });
  r.namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } });
  const route = (name: string, regex: string): HTTPRoute => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace: 'ns', name },
    spec: { parentRefs: [{ name: 'gw' }], rules: [{ matches: [{ path: { type: 'RegularExpression', value: regex } }] }] },
  });
  r.httpRoutes.push(route('re2-only', '(?i)/api/v[0-9]+'), route('backreference', '/(a)\\1'));
  const out = translate(r, defaultSettings({ gatewayClassName: 'eg' }));
  const accepted = (name: string) => out.resources.httpRoutes!.find((x) => x.metadata.name === name)!.status!.parents![0]!.conditions!.find((c) => c.type === 'Accepted')!.status;
  assert.equal(accepted('re2-only'), 'True');
  assert.equal(accepted('backreference'), 'False');
});
