// Every resource of the golden corpus (inputs, and the expected outputs with their status) is
// loaded and validated: nothing the API server would admit may be rejected, and the resources
// it would refuse are exactly the documented exceptions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblem } from '../../src/api/place.js';
import { lookupKind } from '../../src/api/registry.js';
import { validateObject } from '../../src/api/validate.js';
import { loadKeyedLists } from '../../src/resources/load.js';
import { corpusSkipReason, corpusSuiteDir } from '../support/corpus.js';
import { corpusExceptions } from './corpus-exceptions.js';

const dir = corpusSuiteDir('gatewayapi');

/** Kinds the corpus uses to test the translator's handling of unknown kinds. */
const deliberatelyUnknownKinds = new Set(['FooRoute', 'WrongKind', 'UnsupportedKind', 'MyGateway']);

describe('golden corpus resources', { skip: dir ? false : corpusSkipReason }, () => {
  it('admits every valid resource and rejects exactly the documented exceptions', () => {
    const rejected = new Map<string, string>();
    let validated = 0;
    const loadProblems: string[] = [];
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
          if (o.key === 'envoyProxyDefaultSpec') continue;
          const obj = o.object as { apiVersion?: unknown; kind?: unknown };
          if (typeof obj.kind === 'string' && deliberatelyUnknownKinds.has(obj.kind)) continue;
          // Kinds still to be given schemas are counted out until they are.
          if (typeof obj.apiVersion === 'string' && typeof obj.kind === 'string') {
            const found = lookupKind(obj.apiVersion, obj.kind);
            if (!found.ok && found.reason === 'unknown-kind') continue;
          }
          validated++;
          const v = validateObject(o.object, o.place, o.locate);
          if (!v.ok) rejected.set(`${name}: ${o.place.resource}`, v.problems.map(formatProblem).join('\n  '));
        }
      }
    }
    assert.deepEqual(loadProblems, [], 'every corpus file loads');
    const unexpected = [...rejected].filter(([k]) => !(k in corpusExceptions));
    assert.deepEqual(unexpected.map(([k, v]) => `${k}\n  ${v}`), [], 'valid resources must be admitted');
    const notRejected = Object.keys(corpusExceptions).filter((k) => !rejected.has(k));
    assert.deepEqual(notRejected, [], 'documented exceptions must still be rejected');
    console.log(`# corpus: ${validated} resources validated, ${rejected.size} rejected (all documented exceptions)`);
  });
});
