// `egts golden <suite> <casesDir> <outDir>` (`npm run -s golden -- ...`): runs one suite of the
// golden corpus, writing <outDir>/<name>.json for every <name>.in.yaml. A case that throws
// writes {"error": "..."} and the run goes on; the exit code is 0 once every case was attempted.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHarness, type Harness } from './harness.js';

/** One suite: turns a case's input text into the JSON document the scorer compares. */
export interface Suite {
  runCase(name: string, input: string, harness: Harness, casesDir: string): unknown;
}

const suites: Record<string, () => Promise<Suite>> = {};

/** Suites register here so that this runner stays independent of what they translate. */
export function registerSuite(name: string, load: () => Promise<Suite>): void {
  suites[name] = load;
}

export async function run(argv: string[]): Promise<number> {
  await import('./suites.js');
  const [suiteName, casesDir, outDir, ...rest] = argv;
  const only = rest.length ? new Set(rest) : undefined;
  if (!suiteName || !casesDir || !outDir || !suites[suiteName]) {
    console.error(`usage: egts golden <${Object.keys(suites).join('|')}> <casesDir> <outDir> [case ...]`);
    return 2;
  }
  const suite = await suites[suiteName]();
  const harness = loadHarness(casesDir);
  mkdirSync(outDir, { recursive: true });
  const names = readdirSync(casesDir)
    .filter((f) => f.endsWith('.in.yaml'))
    .map((f) => f.slice(0, -'.in.yaml'.length))
    .filter((n) => !only || only.has(n))
    .sort();
  let failed = 0;
  for (const name of names) {
    let output: unknown;
    try {
      output = suite.runCase(name, readFileSync(join(casesDir, `${name}.in.yaml`), 'utf8'), harness, casesDir);
    } catch (err) {
      failed++;
      output = { error: err instanceof Error ? err.message : String(err) };
    }
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify(output, null, 1));
  }
  console.error(`golden ${suiteName}: ${names.length} cases written to ${outDir} (${failed} raised an error)`);
  return 0;
}
