// Reading the rate limit service's configuration from files: YAML or JSON documents, each a
// domain ({domain, descriptors}), a list of them, or a mapping with `configs` (a list) or
// `rateLimitConfigs` (IR key → list, as `egts translate --to ratelimit` prints it). Folders are
// read for their manifest files.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Problem } from '../api/place.js';
import { scanPaths } from '../provider/file/scan.js';
import { compileConfigs, type CompiledConfig } from './config.js';

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The domain documents in one file's text. */
export function domainDocuments(text: string, file: string): { docs: { value: unknown; file: string; document: number }[]; problems: Problem[] } {
  const docs: { value: unknown; file: string; document: number }[] = [];
  const problems: Problem[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    if (d.errors.length) { problems.push({ message: d.errors[0]!.message, place: { file, document: i } }); return; }
    const v = d.toJS() as unknown;
    const add = (x: unknown) => docs.push({ value: x, file, document: i });
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) v.forEach(add);
    else if (isMapping(v) && Array.isArray(v.configs)) v.configs.forEach(add);
    else if (isMapping(v) && isMapping(v.rateLimitConfigs)) for (const list of Object.values(v.rateLimitConfigs)) { if (Array.isArray(list)) list.forEach(add); }
    else add(v);
  });
  return { docs, problems };
}

/** Reads and compiles every configuration file under the paths. */
export async function loadConfigFiles(paths: string[]): Promise<{ config: CompiledConfig; problems: Problem[]; files: string[] }> {
  const scan = await scanPaths(paths);
  const problems = [...scan.problems];
  const docs: { value: unknown; file: string; document: number }[] = [];
  const files = [...scan.files.keys()].sort();
  for (const f of files) {
    let text: string;
    try { text = readFileSync(f, 'utf8'); } catch (err) { problems.push({ message: `cannot read: ${(err as Error).message}`, place: { file: f } }); continue; }
    const r = domainDocuments(text, f);
    docs.push(...r.docs);
    problems.push(...r.problems);
  }
  const c = compileConfigs(docs);
  return { config: c.config, problems: [...problems, ...c.problems], files };
}
