// The settings each golden suite runs with, read from <casesDir>/../harness.yaml: translator
// settings, per-case overrides, fixtures and expected errors. Kept as data, never hard-coded.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export type Harness = Record<string, any>;

export function loadHarness(casesDir: string): Harness {
  const path = join(casesDir, '..', 'harness.yaml');
  return existsSync(path) ? (parse(readFileSync(path, 'utf8')) as Harness) ?? {} : {};
}

/** The translator settings of one suite for one case: the suite's defaults with the case's overrides. */
export function settingsFor(harness: Harness, suite: string, caseName: string): Record<string, any> {
  const s = harness[suite] ?? {};
  return { ...(s.translator ?? {}), ...(s.overrides?.[caseName] ?? {}) };
}
