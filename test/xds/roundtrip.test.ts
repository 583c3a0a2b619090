// Everything the xds translator produces for the corpus is Envoy's API: each resource encodes to
// protobuf binary and decodes back to the same JSON (Envoy's proto definitions, with our
// supplement), and translating the largest IR of the corpus stays well under a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseXdsIR } from '../../src/ir/load.js';
import { fromBinary, toBinary } from '../../src/xds/proto/index.js';
import { translateXds } from '../../src/xds/translator/index.js';
import { typeUrls, type ResourceKind } from '../../src/xds/translator/resources.js';
import { protoValidator } from '../../src/xds/translator/validate.js';
import { corpusSkipReason, corpusSuiteDir } from '../support/corpus.js';

const dir = corpusSuiteDir('xds');

function cases(): string[] {
  return readdirSync(dir!).filter((f) => f.endsWith('.in.yaml')).map((f) => f.slice(0, -'.in.yaml'.length)).sort();
}

test('every generated resource round-trips JSON → binary → JSON unchanged', { skip: dir ? false : corpusSkipReason }, () => {
  const problems: string[] = [];
  let count = 0;
  for (const name of cases()) {
    const ir = parseXdsIR(readFileSync(join(dir!, `${name}.in.yaml`), 'utf8'));
    const { resources } = translateXds(ir, { validator: protoValidator });
    for (const kind of Object.keys(resources) as ResourceKind[]) {
      for (const r of resources[kind]) {
        count++;
        const json = JSON.parse(JSON.stringify(r));
        try {
          const back = fromBinary(typeUrls[kind], toBinary(typeUrls[kind], json));
          if (JSON.stringify(sortKeys(back)) !== JSON.stringify(sortKeys(json))) {
            problems.push(`${name} ${kind} ${r.name ?? r.clusterName}: ${firstDiff(json, back)}`);
          }
        } catch (e) {
          problems.push(`${name} ${kind} ${r.name ?? r.clusterName}: ${(e as Error).message}`);
        }
      }
    }
  }
  assert.ok(count > 1000, `only ${count} resources`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} resource(s) do not round-trip`);
});

test('the largest IR of the corpus translates well under a second', { skip: dir ? false : corpusSkipReason }, () => {
  const largest = cases()
    .map((n) => ({ n, text: readFileSync(join(dir!, `${n}.in.yaml`), 'utf8') }))
    .sort((a, b) => b.text.length - a.text.length)[0]!;
  const ir = parseXdsIR(largest.text);
  translateXds(ir, { validator: protoValidator }); // warm up: schema load, compiled validators
  const start = performance.now();
  const runs = 20;
  for (let i = 0; i < runs; i++) translateXds(ir, { validator: protoValidator });
  const ms = (performance.now() - start) / runs;
  assert.ok(ms < 250, `${largest.n}: ${ms.toFixed(1)} ms per translation`);
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

function firstDiff(a: unknown, b: unknown, path = ''): string {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDiff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return '';
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return '';
  }
  return JSON.stringify(a) === JSON.stringify(b) ? '' : `${path}: ${JSON.stringify(a)?.slice(0, 80)} → ${JSON.stringify(b)?.slice(0, 80)}`;
}
