// The IR field list the loader canonicalises keys with must name exactly the fields of the IR
// types, and together they must cover every key the corpus's IR documents use.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { irFieldNames } from '../../src/ir/fields.js';
import { parseXdsIR } from '../../src/ir/load.js';
import { corpusSkipReason, corpusSuiteDir, repoRoot } from '../support/corpus.js';

const irDir = join(repoRoot, 'src', 'ir');

function fieldsOfTypes(): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(irDir)) {
    if (!f.endsWith('.ts') || f === 'fields.ts' || f === 'load.ts') continue;
    const text = readFileSync(join(irDir, f), 'utf8');
    // Only the files that declare IR types (not helpers living next to them).
    if (!/^export (interface|type) /m.test(text)) continue;
    const src = text
      .split('\n')
      .filter((l) => !/^\s*(\/\/|\/\*|\*)/.test(l))
      .join('\n');
    for (const m of src.matchAll(/(?:^|[{;,(])\s*'?([A-Za-z0-9@]+)'?\??:/gm)) names.add(m[1]!);
  }
  return [...names].sort();
}

test('irFieldNames lists exactly the fields of the IR types', () => {
  assert.deepEqual([...irFieldNames].sort(), fieldsOfTypes(), 'update src/ir/fields.ts after changing an IR type');
});

const opaque = new Set(['config', 'FilterContext', 'labels', 'spec', 'status', 'backendSettings', 'annotations', 'provider']);

function unknownKeys(v: unknown, path: string, known: Set<string>, out: Set<string>): void {
  if (Array.isArray(v)) v.forEach((x) => unknownKeys(x, `${path}[]`, known, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (!known.has(k)) out.add(`${path}.${k}`);
      if (opaque.has(k) || (k === 'value' && path.endsWith('operation')) || (k === 'attributes' && !Array.isArray(x))) continue;
      unknownKeys(x, `${path}.${k}`, known, out);
    }
  }
}

const xdsDir = corpusSuiteDir('xds');
test('every key of the corpus xds IR inputs is an IR field after loading', { skip: xdsDir ? false : corpusSkipReason }, () => {
  const known = new Set(irFieldNames);
  const bad = new Set<string>();
  for (const f of readdirSync(xdsDir!).filter((f) => f.endsWith('.in.yaml'))) {
    unknownKeys(parseXdsIR(readFileSync(join(xdsDir!, f), 'utf8')), f, known, bad);
  }
  assert.deepEqual([...bad], []);
});

const gwDir = corpusSuiteDir('gatewayapi');
test('every key of the corpus xdsIR/infraIR is an IR field', { skip: gwDir ? false : corpusSkipReason }, () => {
  const known = new Set(irFieldNames);
  const bad = new Set<string>();
  for (const f of readdirSync(gwDir!).filter((f) => f.endsWith('.expected.json'))) {
    const doc = JSON.parse(readFileSync(join(gwDir!, f), 'utf8'));
    for (const ir of Object.values(doc.xdsIR ?? {})) unknownKeys(ir, f, known, bad);
    for (const ir of Object.values(doc.infraIR ?? {})) unknownKeys(ir, f, known, bad);
  }
  assert.deepEqual([...bad], []);
});
