// Loading resources from YAML text: Kubernetes manifests (multi-document, `kind: List`) and the
// golden corpus's mapping of keyed lists (`gateways:`, `httpRoutes:`, ...). Each object comes
// with its place (file, document, line) and a way to find the line of any of its fields, so a
// later validation problem points at the right line. Malformed YAML is a problem with a line,
// never an exception, and a malformed document does not stop the others from loading.
//
// Two parsers, each for what it does best: js-yaml reads the values (fast, and as lenient as
// the Go YAML reader Kubernetes uses, e.g. with under-indented quoted scalars); the `yaml`
// package, whose syntax tree keeps positions, is consulted lazily, only to place a problem.
import jsyaml from 'js-yaml';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YAMLNode } from 'yaml';
import type { Place, Problem } from '../api/place.js';
import { describeResource, type Locate } from '../api/validate.js';

export interface LoadedObject {
  /** The object as parsed (plain JSON-like data). */
  object: unknown;
  place: Place;
  /** For the corpus format: the canonical key of the list it came from (e.g. `httpRoutes`). */
  key?: string;
  /** Line of a field path inside this object (falls back to the object's own line). */
  locate: Locate;
}

export interface LoadResult {
  objects: LoadedObject[];
  problems: Problem[];
}

/** YAML 1.2 core schema (no timestamps: they stay strings, as in JSON) plus `<<` merge keys. */
const schema = jsyaml.CORE_SCHEMA.extend({ implicit: [(jsyaml as unknown as { types: { merge: jsyaml.Type } }).types.merge] });

/** One document of a stream: its text, its 0-based index and the 1-based line of its content. */
export interface Chunk {
  text: string;
  /** The line the chunk's text starts at (its `---` marker, if any). */
  firstLine: number;
  /** The line of its first content (skipping the marker, comments and blank lines). */
  contentLine: number;
  index: number;
}

/** The 0-based line offset of the first content line of a document, or -1 when it has none. */
function firstContent(text: string): number {
  let at = 0;
  for (let line = 0; at <= text.length; line++) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const l = text.slice(at, end).trim();
    if (l && !l.startsWith('#') && !l.startsWith('%') && !/^---(\s+#.*)?$/.test(l) && l !== '...') return line;
    at = end + 1;
  }
  return -1;
}

/**
 * Splits a YAML stream at `---` lines, the way Kubernetes' YAML reader does. Documents with no
 * content (only comments or blank lines) are dropped and do not count.
 */
export function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  const marker = /^---(?=[ \t\r]|$)/gm;
  let line = 1;
  let scanned = 0;
  const lineAt = (offset: number) => {
    for (let i = scanned; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
    scanned = offset;
    return line;
  };
  const push = (from: number, to: number, firstLine: number) => {
    const body = text.slice(from, to);
    const content = firstContent(body);
    if (content >= 0) chunks.push({ text: body, firstLine, contentLine: firstLine + content, index: chunks.length });
  };
  let start = 0;
  let startLine = 1;
  let m: RegExpExecArray | null;
  while ((m = marker.exec(text))) {
    // The marker line stays with the document it opens (`--- {a: 1}` is legal YAML).
    if (m.index > start) push(start, m.index, startLine);
    start = m.index;
    startLine = lineAt(m.index);
  }
  push(start, text.length, startLine);
  return chunks;
}

/** Parses one document; records the line of every collection up to `depth` levels deep. */
function parseChunk(chunk: Chunk, file: string | undefined, depth: number): { value: unknown; lines: WeakMap<object, number> } | Problem {
  const lines = new WeakMap<object, number>();
  const opens: number[] = [];
  try {
    const value = jsyaml.load(chunk.text, {
      schema,
      filename: file,
      listener: depth === 0 ? undefined : function (event, state) {
        // The parser's state also carries the nesting depth, which its typings leave out.
        if ((state as jsyaml.State & { depth: number }).depth > depth) return;
        if (event === 'open') opens.push(state.line);
        else {
          const line = opens.pop();
          const r = state.result as unknown;
          if (line !== undefined && r !== null && typeof r === 'object') lines.set(r, chunk.firstLine + line);
        }
      },
    });
    return { value, lines };
  } catch (err) {
    const e = err as jsyaml.YAMLException;
    const place: Place = { document: chunk.index, line: chunk.firstLine + (e.mark?.line ?? 0) };
    if (file) place.file = file;
    return { message: `malformed YAML: ${e.reason ?? e.message}`, place };
  }
}

const isProblem = (v: unknown): v is Problem => typeof v === 'object' && v !== null && 'message' in v && 'place' in v;

/** Positions are looked up in documents up to this size only (the positional parser is slower). */
const maxLocatedChunk = 1 << 20;

/** Finds field lines in one document, parsing it for positions on first use. */
function chunkLocator(chunk: Chunk): (path: readonly PropertyKey[]) => number | undefined {
  let tree: { root: unknown; lines: LineCounter } | null | undefined;
  return (path) => {
    if (tree === undefined) {
      tree = null;
      if (chunk.text.length <= maxLocatedChunk) {
        const lines = new LineCounter();
        const doc = parseDocument(chunk.text, { lineCounter: lines, strict: false });
        if (!doc.errors.length) tree = { root: doc.contents, lines };
      }
    }
    if (!tree) return undefined;
    let node: unknown = tree.root;
    let offset: number | undefined = (node as YAMLNode | null)?.range?.[0];
    for (let i = 0; i < path.length; i++) {
      const p = path[i];
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === p);
        if (!pair) break;
        offset = (pair.key as YAMLNode | null)?.range?.[0] ?? offset;
        // A field is best pointed at by its key.
        if (i === path.length - 1) break;
        next = pair.value;
      } else if (isSeq(node) && typeof p === 'number') {
        next = node.items[p];
      } else break;
      if (!next) break;
      offset = (next as YAMLNode).range?.[0] ?? offset;
      node = next;
    }
    return offset === undefined ? undefined : chunk.firstLine - 1 + tree.lines.linePos(offset).line;
  };
}

function makeLocate(chunkLocate: (path: readonly PropertyKey[]) => number | undefined, prefix: readonly PropertyKey[], fallback: number | undefined): Locate {
  return (path) => chunkLocate(prefix.length ? [...prefix, ...path] : path) ?? fallback;
}

function placeOf(file: string | undefined, document: number, line: number | undefined, object: unknown, envelope = true): Place {
  const p: Place = { document };
  if (file) p.file = file;
  if (line !== undefined) p.line = line;
  if (envelope) {
    const r = describeResource(object);
    if (r) p.resource = r;
  }
  return p;
}

const mayBeList = /^kind:\s*["']?\w*List\b/m;

function isList(v: unknown): v is { kind: string; items: unknown[] } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items);
}

type Format = 'kubernetes' | 'keyed' | 'auto';

/**
 * Kubernetes YAML: each document is one object, or a `kind: List` (or any `*List`) whose
 * `items` are the objects. Empty documents are skipped.
 */
export function loadKubernetesYAML(text: string, file?: string): LoadResult {
  return load(text, file, 'kubernetes');
}

/**
 * The corpus format: a YAML mapping from keys to lists of objects (or to one object, for the
 * `single` keys). Every object is returned with the canonical key it came from; a `spec` key
 * (a bare EnvoyProxy spec) is returned as written, under its key.
 */
export function loadKeyedLists(text: string, file?: string): LoadResult {
  return load(text, file, 'keyed');
}

/**
 * Either format, told apart per document: a mapping with a `kind` is a Kubernetes object (or
 * List); any other mapping is a set of keyed lists.
 */
export function loadResources(text: string, file?: string): LoadResult {
  return load(text, file, 'auto');
}

/**
 * Kubernetes YAML, some documents of a stream only (from splitDocuments): for a reader that
 * keeps what it made of the documents that did not change since it last read the stream.
 */
export function loadKubernetesDocuments(chunks: readonly Chunk[], file?: string): LoadResult {
  return loadChunks(chunks, file, 'kubernetes');
}

function load(text: string, file: string | undefined, format: Format): LoadResult {
  return loadChunks(splitDocuments(text), file, format);
}

function loadChunks(chunks: readonly Chunk[], file: string | undefined, format: Format): LoadResult {
  const out: LoadResult = { objects: [], problems: [] };
  for (const chunk of chunks) {
    // Lines of nested objects are recorded only where they will be asked for: list items and
    // keyed-list entries. A single object's line is its document's.
    const nested = format === 'keyed' || mayBeList.test(chunk.text) || (format === 'auto' && !topLevelKind.test(chunk.text));
    const parsed = parseChunk(chunk, file, nested ? 3 : 0);
    if (isProblem(parsed)) {
      out.problems.push(parsed);
      continue;
    }
    const { value } = parsed;
    if (value === null || value === undefined) continue;
    const keyed = format === 'keyed' || (format === 'auto' && isMapping(value) && typeof value.kind !== 'string');
    if (keyed) keyedDocument(chunk, parsed, file, out);
    else kubernetesDocument(chunk, parsed, file, out);
  }
  return out;
}

const topLevelKind = /^kind:/m;

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Parsed = { value: unknown; lines: WeakMap<object, number> };

function kubernetesDocument(chunk: Chunk, { value, lines }: Parsed, file: string | undefined, out: LoadResult): void {
  const locateIn = chunkLocator(chunk);
  if (isList(value)) {
    value.items.forEach((object, i) => {
      if (object === null || object === undefined) return;
      const line = typeof object === 'object' ? lines.get(object) : undefined;
      out.objects.push({ object, place: placeOf(file, chunk.index, line, object), locate: makeLocate(locateIn, ['items', i], line) });
    });
    return;
  }
  const line = chunk.contentLine;
  if (!isMapping(value)) {
    out.problems.push({ message: `expected a Kubernetes object (a mapping), found ${Array.isArray(value) ? 'a list' : typeof value}`, place: placeOf(file, chunk.index, line, value) });
    return;
  }
  out.objects.push({ object: value, place: placeOf(file, chunk.index, line, value), locate: makeLocate(locateIn, [], line) });
}

function keyedDocument(chunk: Chunk, { value, lines }: Parsed, file: string | undefined, out: LoadResult): void {
  const docLine = chunk.contentLine;
  if (!isMapping(value)) {
    out.problems.push({ message: 'expected a mapping of resource lists (gateways:, httpRoutes:, ...)', place: placeOf(file, chunk.index, docLine, value, false) });
    return;
  }
  const locateIn = chunkLocator(chunk);
  for (const [written, content] of Object.entries(value)) {
    const key = canonicalKey(written);
    const keyLine = () => locateIn([written]) ?? docLine;
    if (!key) {
      out.problems.push({ message: `unknown resource list "${written}"`, place: placeOf(file, chunk.index, keyLine(), undefined, false) });
      continue;
    }
    if (content === null || content === undefined) continue;
    const one = (object: unknown, prefix: PropertyKey[]) => {
      const line = typeof object === 'object' && object !== null ? lines.get(object) : undefined;
      const place = placeOf(file, chunk.index, line, object, !key.spec);
      out.objects.push({ object, place, key: key.key, locate: makeLocate(locateIn, prefix, line) });
    };
    if (Array.isArray(content)) {
      content.forEach((object, i) => {
        if (object !== null && object !== undefined) one(object, [written, i]);
      });
    } else if (typeof content === 'object' && key.single) {
      one(content, [written]);
    } else {
      out.problems.push({ message: `${written} must be ${key.single ? 'a mapping' : 'a list'}`, place: placeOf(file, chunk.index, keyLine(), undefined, false) });
    }
  }
}

/**
 * The keys of the corpus format and what each holds. `single` keys hold one object rather
 * than a list; `spec` keys hold a bare spec (no envelope).
 */
export interface KeyedListKey {
  key: string;
  /** The kind its objects have ('' when the key holds objects of any kind). */
  kind: string;
  single?: boolean;
  spec?: boolean;
}

export const keyedListKeys: readonly KeyedListKey[] = [
  { key: 'gatewayClass', kind: 'GatewayClass', single: true },
  { key: 'gatewayClasses', kind: 'GatewayClass' },
  { key: 'gateways', kind: 'Gateway' },
  { key: 'listenerSets', kind: 'ListenerSet' },
  { key: 'xListenerSets', kind: 'XListenerSet' },
  { key: 'httpRoutes', kind: 'HTTPRoute' },
  { key: 'grpcRoutes', kind: 'GRPCRoute' },
  { key: 'tlsRoutes', kind: 'TLSRoute' },
  { key: 'tcpRoutes', kind: 'TCPRoute' },
  { key: 'udpRoutes', kind: 'UDPRoute' },
  { key: 'referenceGrants', kind: 'ReferenceGrant' },
  { key: 'backendTLSPolicies', kind: 'BackendTLSPolicy' },
  { key: 'envoyProxyForGatewayClass', kind: 'EnvoyProxy', single: true },
  { key: 'envoyProxiesForGateways', kind: 'EnvoyProxy' },
  { key: 'envoyProxyDefaultSpec', kind: 'EnvoyProxy', single: true, spec: true },
  { key: 'backends', kind: 'Backend' },
  { key: 'clientTrafficPolicies', kind: 'ClientTrafficPolicy' },
  { key: 'backendTrafficPolicies', kind: 'BackendTrafficPolicy' },
  { key: 'securityPolicies', kind: 'SecurityPolicy' },
  { key: 'envoyExtensionPolicies', kind: 'EnvoyExtensionPolicy' },
  { key: 'envoyPatchPolicies', kind: 'EnvoyPatchPolicy' },
  { key: 'httpFilters', kind: 'HTTPRouteFilter' },
  { key: 'extensionRefFilters', kind: '' },
  { key: 'extensionServerPolicies', kind: '' },
  { key: 'services', kind: 'Service' },
  { key: 'serviceImports', kind: 'ServiceImport' },
  { key: 'endpointSlices', kind: 'EndpointSlice' },
  { key: 'secrets', kind: 'Secret' },
  { key: 'configMaps', kind: 'ConfigMap' },
  { key: 'namespaces', kind: 'Namespace' },
  { key: 'clusterTrustBundles', kind: 'ClusterTrustBundle' },
];

const keyByLowercase = new Map(keyedListKeys.map((k) => [k.key.toLowerCase(), k]));

/** The canonical corpus key for a key as written (keys match case-insensitively). */
export function canonicalKey(written: string): KeyedListKey | undefined {
  return keyByLowercase.get(written.toLowerCase());
}


/**
 * One YAML document as plain data, read as Kubernetes' Go reader reads it (YAML 1.2 core
 * schema, timestamps as strings, lenient where it is, e.g. with under-indented quoted scalars).
 * Throws on malformed YAML; use the loaders above to get placed problems instead.
 */
export function parseYAML(text: string): unknown {
  return jsyaml.load(text, { schema });
}
