// Every resource in the expected outputs of the xds corpus goes JSON → binary → JSON through
// Envoy's proto definitions and comes back unchanged. Resources that use parts of Envoy's API
// missing from our proto set are listed in roundtrip-gaps.txt; the list may only shrink.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { TYPE_URL, fromBinary, toBinary } from '../../../src/xds/proto/index.js';
import { corpusSkipReason, corpusSuiteDir, repoRoot } from '../../support/corpus.js';

const LISTS: Record<string, string> = {
  listeners: TYPE_URL.listener,
  routes: TYPE_URL.route,
  clusters: TYPE_URL.cluster,
  endpoints: TYPE_URL.endpoint,
  secrets: TYPE_URL.secret,
};

function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path}: ${JSON.stringify(a)} became ${JSON.stringify(b)}`;
}

const dir = corpusSuiteDir('xds');

test('xds corpus resources round-trip through the binary encoding', { skip: dir ? false : corpusSkipReason }, () => {
  const gapsFile = join(repoRoot, 'test', 'xds', 'proto', 'roundtrip-gaps.txt');
  const gaps = new Set(readFileSync(gapsFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  const failures: string[] = [];
  const unexpected: string[] = [];
  let count = 0;
  for (const file of readdirSync(dir!).filter((f) => f.endsWith('.expected.json')).sort()) {
    const expected = JSON.parse(readFileSync(join(dir!, file), 'utf8')) as Record<string, unknown[]>;
    for (const [list, typeUrl] of Object.entries(LISTS)) {
      for (const resource of expected[list] ?? []) {
        count++;
        const id = `${file.replace('.expected.json', '')} ${list}/${(resource as { name?: string }).name ?? (resource as { clusterName?: string }).clusterName}`;
        let problem: string | undefined;
        try {
          problem = firstDifference(resource, fromBinary(typeUrl, toBinary(typeUrl, resource)));
        } catch (err) {
          problem = (err as Error).message;
        }
        if (!problem) continue;
        failures.push(id);
        if (!gaps.has(id)) unexpected.push(`${id}: ${problem}`);
      }
    }
  }
  assert.ok(count > 1500, `expected the whole corpus, saw ${count} resources`);
  assert.deepEqual(unexpected, [], 'resources that no longer round-trip');
  const stale = [...gaps].filter((g) => !failures.includes(g));
  assert.deepEqual(stale, [], `these now round-trip: remove them from ${gapsFile}`);
});
