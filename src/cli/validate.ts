// `egts validate <file|dir>...`: admits every resource of the given YAML files (Kubernetes
// manifests or the corpus's keyed lists) as the API server would, printing each problem with
// its file, line, document, resource and field. Exit code 1 when any resource is rejected.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblem, type Problem } from '../api/place.js';
import { validateObject } from '../api/validate.js';
import { loadKeyedLists, loadKubernetesYAML, loadResources, type LoadResult } from '../resources/load.js';

const usage = `usage: egts validate [--format auto|kubernetes|keyed] [--go-field-names] <file|dir>...

Checks every resource as the Kubernetes API server would admit it: known kind and version,
field types, formats and bounds, no unknown fields, and the CRDs' cross-field rules.
Directories are searched for *.yaml, *.yml and *.json files.`;

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? files(join(path, e.name)) : /\.(ya?ml|json)$/.test(e.name) ? [join(path, e.name)] : []));
}

export async function run(argv: string[]): Promise<number> {
  let format = 'auto';
  let goFieldNames = false;
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(usage);
      return 0;
    }
    if (a === '--format') format = argv[++i] ?? '';
    else if (a === '--go-field-names') goFieldNames = true;
    else paths.push(a);
  }
  const loader = { auto: loadResources, kubernetes: loadKubernetesYAML, keyed: loadKeyedLists }[format];
  if (!loader || paths.length === 0) {
    console.error(usage);
    return 2;
  }
  const rename = goFieldNames ? (await import('../api/fieldnames.js')).withGoFieldNames : <T>(o: T) => o;
  let resources = 0;
  let rejected = 0;
  const problems: Problem[] = [];
  for (const file of paths.flatMap(files)) {
    let loaded: LoadResult;
    try {
      loaded = loader(readFileSync(file, 'utf8'), file);
    } catch (err) {
      problems.push({ message: `cannot read: ${err instanceof Error ? err.message : String(err)}`, place: { file } });
      continue;
    }
    const found = [...loaded.problems];
    for (const o of loaded.objects) {
      if (o.key === 'envoyProxyDefaultSpec') continue;
      resources++;
      const v = validateObject(rename(o.object), o.place, o.locate);
      if (!v.ok) {
        rejected++;
        found.push(...v.problems);
      }
    }
    // In the order of the file.
    found.sort((a, b) => (a.place.document ?? 0) - (b.place.document ?? 0) || (a.place.line ?? 0) - (b.place.line ?? 0));
    problems.push(...found);
  }
  for (const p of problems) console.log(formatProblem(p));
  console.error(`${resources} resources, ${resources - rejected} admitted, ${rejected} rejected; ${problems.length} problems`);
  return problems.length ? 1 : 0;
}
