// Every resource of the golden corpus (inputs, and the expected outputs with their status) is
// loaded and validated: nothing the API server would admit may be rejected, and the resources
// it would refuse are exactly the documented exceptions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EnvoyProxySpec } from '../../src/api/envoygateway/envoyproxy.js';
import { withGoFieldNames } from '../../src/api/fieldnames.js';
import { formatProblem } from '../../src/api/place.js';
import { validateObject } from '../../src/api/validate.js';
import { loadKeyedLists } from '../../src/resources/load.js';
import { corpusSkipReason, corpusSuiteDir } from '../support/corpus.js';
import { corpusExceptions, corpusFieldCaseExceptions } from './corpus-exceptions.js';

const dir = corpusSuiteDir('gatewayapi');

/** Kinds the corpus uses to test how the translator treats kinds it does not know. */
const deliberatelyUnknownKinds = new Set(['FooRoute', 'WrongKind', 'UnsupportedKind', 'MyGateway']);

describe('golden corpus resources', { skip: dir ? false : corpusSkipReason }, () => {
  it('admits every valid resource and rejects exactly the documented exceptions', () => {
    const rejected = new Map<string, string>();
    const caseOnly = new Set<string>();
    const stillInvalid = new Set<string>();
    let validated = 0;
    const loadProblems: string[] = [];
    const specProblems: string[] = [];
    for (const file of readdirSync(dir!).filter((f) => f.endsWith('.in.yaml')).sort()) {
      const name = file.slice(0, -'.in.yaml'.length);
      const expected = JSON.parse(readFileSync(join(dir!, `${name}.expected.json`), 'utf8')) as Record<string, unknown>;
      delete expected.infraIR;
      delete expected.xdsIR;
      for (const [source, text] of [
        [file, readFileSync(join(dir!, file), 'utf8')],
        [`${name}.expected.json`, JSON.stringify(expected)],
      ] as const) {
        const loaded = loadKeyedLists(text, source);
        loadProblems.push(...loaded.problems.map(formatProblem));
        for (const o of loaded.objects) {
          if (o.key === 'envoyProxyDefaultSpec') {
            if (!EnvoyProxySpec.safeParse(o.object).success) specProblems.push(`${name}: envoyProxyDefaultSpec`);
            continue;
          }
          const kind = (o.object as { kind?: unknown }).kind;
          validated++;
          const v = validateObject(o.object, o.place, o.locate);
          if (typeof kind === 'string' && deliberatelyUnknownKinds.has(kind)) {
            assert.equal(v.ok, false, `${name}: ${kind} is reported as unknown`);
            continue;
          }
          if (v.ok) continue;
          const key = `${name}: ${o.place.resource}`;
          rejected.set(key, v.problems.map(formatProblem).join('\n  '));
          if (validateObject(withGoFieldNames(o.object), o.place).ok) caseOnly.add(key);
          else stillInvalid.add(key);
        }
      }
    }
    assert.deepEqual(loadProblems, [], 'every corpus file loads');
    assert.deepEqual(specProblems, [], 'every envoyProxyDefaultSpec is a valid EnvoyProxy spec');
    const documented = new Set([...Object.keys(corpusExceptions), ...corpusFieldCaseExceptions]);
    const unexpected = [...rejected].filter(([k]) => !documented.has(k));
    assert.deepEqual(unexpected.map(([k, v]) => `${k}\n  ${v}`), [], 'valid resources must be admitted');
    assert.deepEqual([...documented].filter((k) => !rejected.has(k)), [], 'documented exceptions must still be rejected');
    assert.deepEqual(corpusFieldCaseExceptions.filter((k) => !caseOnly.has(k)), [], 'field-case exceptions validate with Go-style field names');
    assert.deepEqual(Object.keys(corpusExceptions).filter((k) => !stillInvalid.has(k)), [], 'genuine exceptions stay invalid with Go-style field names');
    console.log(
      `# corpus: ${validated} resources validated, ${rejected.size} rejected: ${stillInvalid.size} invalid, ${caseOnly.size} only for field-name case`,
    );
  });
});
