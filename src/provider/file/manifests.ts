// One manifest file, read: the objects it holds and the problems it has. This is where "a bad
// edit never loses what worked" is decided, per file and per object:
// - a file whose YAML does not parse keeps its last good objects, all of them (which object a
//   broken document meant is unknowable), and reports the syntax error;
// - an object that fails validation keeps its last good version from this file, when there is
//   one; the file's other objects are taken as they are now;
// - a file never read successfully contributes what does load and validate.
import { createHash } from 'node:crypto';
import { parseAPIVersion, lookupKind } from '../../api/registry.js';
import type { Place, Problem } from '../../api/place.js';
import { describeResource, validateObject } from '../../api/validate.js';
import { loadKubernetesDocuments, splitDocuments, type LoadedObject } from '../../resources/load.js';
import type { AnyObject } from '../object.js';
import type { FileSignature } from './scan.js';

/** Objects without a namespace that need one are put here (as `kubectl apply` would). */
export const defaultNamespace = 'default';

/** The kind of the EnvoyGateway configuration: read by `egts serve`, never a resource. */
export const configKind = 'EnvoyGateway';

export interface ProvidedObject {
  /** `Kind namespace/name` (or `Kind name` when cluster-scoped): unique across all files. */
  id: string;
  /** The object as written, namespace filled in, `status` left out (status is ours to write). */
  object: AnyObject;
  place: Place;
}

export interface FileState {
  path: string;
  signature: FileSignature;
  /** Content hash: a file touched without a change is not reloaded. */
  hash: string;
  /** The objects in force: current where valid, last good where not. */
  objects: ProvidedObject[];
  /** EnvoyGateway configuration documents found in the file. */
  configs: { object: unknown; place: Place }[];
  problems: Problem[];
  /** Whether the file as a whole is held at its last good version (its YAML is broken). */
  heldAtLastGood: boolean;
  /**
   * What each document that read cleanly (every object valid, nothing else in it) gave, by its
   * text: an edit to one document of a large file re-reads that document only.
   */
  documents?: Map<string, CachedDocument>;
}

/** A document's objects, their places relative to the document's first line. */
interface CachedDocument {
  objects: { id: string; object: AnyObject; place: Place; lineOffset: number | undefined }[];
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** The identity of an object: its kind, and namespace/name for namespaced kinds. */
export function objectId(kind: string, name: string, namespace: string | undefined): string {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/** Whether objects of this kind live in a namespace (unknown kinds are assumed to). */
function isNamespaced(apiVersion: unknown, kind: unknown): boolean {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return true;
  const found = lookupKind(apiVersion, kind);
  return found.ok ? found.info.namespaced : true;
}

/** The id an object would have, from whatever of its envelope is readable (for invalid ones too). */
function idOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const o = obj as Record<string, any>;
  const name = o.metadata?.name;
  if (typeof o.kind !== 'string' || typeof name !== 'string' || !name) return undefined;
  const ns = isNamespaced(o.apiVersion, o.kind) ? (typeof o.metadata.namespace === 'string' && o.metadata.namespace) || defaultNamespace : undefined;
  return objectId(o.kind, name, ns);
}

/**
 * What the API server does to an object on the way in that matters here: the namespace
 * defaulted, `status` dropped, a Secret's `stringData` merged into `data`.
 */
function admit(obj: AnyObject): AnyObject {
  const namespaced = isNamespaced(obj.apiVersion, obj.kind);
  const { status: _status, ...rest } = obj;
  const out: AnyObject = { ...rest, metadata: { ...obj.metadata } };
  if (namespaced) out.metadata.namespace ||= defaultNamespace;
  else delete out.metadata.namespace;
  if (obj.kind === 'Secret' && parseAPIVersion(String(obj.apiVersion)).group === '' && obj.stringData && typeof obj.stringData === 'object') {
    const data: Record<string, string> = { ...(obj.data ?? {}) };
    for (const [k, v] of Object.entries(obj.stringData as Record<string, unknown>)) data[k] = Buffer.from(String(v)).toString('base64');
    out.data = data;
    delete out.stringData;
  }
  return out;
}

/**
 * A document's text without its `---` line (the first document of a file has none), and the
 * line that text starts at: a document keeps its key when documents are added before it.
 */
function documentKey(chunk: { text: string; firstLine: number }): { key: string; line: number } {
  const m = /^---[ \t]*\r?\n/.exec(chunk.text);
  return m ? { key: chunk.text.slice(m[0].length), line: chunk.firstLine + 1 } : { key: chunk.text, line: chunk.firstLine };
}

/** Reads one file's text into its new state, given the state it had (if any). */
export function readManifests(path: string, displayPath: string, text: string, signature: FileSignature, previous?: FileState): FileState {
  const hash = contentHash(text);
  const chunks = splitDocuments(text);
  const known = previous?.heldAtLastGood ? undefined : previous?.documents;
  const fresh = known ? chunks.filter((c) => !known.has(documentKey(c).key)) : chunks;
  const loaded = loadKubernetesDocuments(fresh, displayPath);
  const problems: Problem[] = [...loaded.problems];

  if (loaded.problems.length && previous && previous.objects.length) {
    // Broken YAML: nothing of this version can be trusted to mean what the user meant.
    problems.push({
      message: `the file does not parse; its last good version (${previous.objects.length} resource${previous.objects.length === 1 ? '' : 's'}) stays in force`,
      place: { file: displayPath },
    });
    return { path, signature, hash, objects: previous.objects, configs: previous.configs, problems, heldAtLastGood: true, documents: previous.documents };
  }

  const byDocument = new Map<number, LoadedObject[]>();
  for (const o of loaded.objects) {
    const list = byDocument.get(o.place.document!);
    if (list) list.push(o);
    else byDocument.set(o.place.document!, [o]);
  }
  const failed = new Set(loaded.problems.map((p) => p.place.document));
  const before = new Map(previous?.objects.map((o) => [o.id, o]));
  const objects: ProvidedObject[] = [];
  const configs: FileState['configs'] = [];
  const documents = new Map<string, CachedDocument>();
  const seen = new Set<string>();
  const unique = (id: string | undefined, place: Place): boolean => {
    if (id && seen.has(id)) {
      problems.push({ message: `${id} is defined more than once in this file; the first definition is used`, place });
      return false;
    }
    if (id) seen.add(id);
    return true;
  };
  for (const chunk of chunks) {
    const { key, line } = documentKey(chunk);
    const cached = known?.get(key);
    if (cached) {
      for (const c of cached.objects) {
        const place: Place = { ...c.place, document: chunk.index };
        if (c.lineOffset !== undefined) place.line = line + c.lineOffset;
        if (unique(c.id, place)) objects.push({ id: c.id, object: c.object, place });
      }
      documents.set(key, cached);
      continue;
    }
    let clean = !failed.has(chunk.index);
    const made: CachedDocument['objects'] = [];
    for (const { object, place, locate } of byDocument.get(chunk.index) ?? []) {
      if ((object as { kind?: unknown }).kind === configKind) {
        configs.push({ object, place });
        clean = false;
        continue;
      }
      const checked = validateObject(object, place, locate);
      const id = checked.ok ? idOf(checked.value) : idOf(object);
      if (!unique(id, place)) {
        clean = false;
        continue;
      }
      if (checked.ok) {
        const admitted = { id: id!, object: admit(checked.value as AnyObject), place };
        objects.push(admitted);
        made.push({ ...admitted, lineOffset: place.line === undefined ? undefined : place.line - line });
        continue;
      }
      clean = false;
      problems.push(...checked.problems);
      const last = id ? before.get(id) : undefined;
      if (last) {
        objects.push(last);
        problems.push({ message: 'invalid; its last good version stays in force', place: { ...place, resource: describeResource(object) ?? id } });
      }
    }
    if (clean) documents.set(key, { objects: made });
  }
  return { path, signature, hash, objects, configs, problems, heldAtLastGood: false, documents };
}
